// The sign-in screen, with the demo accounts one tap away, and the ways in without an
// account: sign up as a resident, accept an invite, reset a forgotten password.

import { h, mount } from './dom.js';
import { t, setLang, getLang } from './i18n.js';
import { signIn } from './state.js';
import { field, errText } from './ui.js';

const DEMO_ACCOUNTS = [
  ['resident', 'Wang Fang 王芳'],
  ['resident2', 'Li Wei 李伟'],
  ['lead', 'Zhao Min 赵敏'],
  ['worker', 'Chen Jie 陈杰'],
  ['official', 'Liu Yang 刘洋'],
  ['chief', 'Zhou Hua 周华'],
  ['lakeside', 'Sun Li 孙丽'],
  ['admin', 'Admin 管理员'],
];

/** Draws the form into `root`; `start()` runs once the tokens are in, its failure is shown. */
export function showLogin(root, start, error = '') {
  const user = h('input', { name: 'username', autocomplete: 'username', testid: 'login-username', required: true });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', testid: 'login-password', required: true });
  const err = h('div.error', { testid: 'login-error', role: 'alert' }, error);
  const form = h(
    'form.login.aa',
    {
      testid: 'login',
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = '';
        try {
          await signIn(user.value.trim(), pass.value);
          await start();
        } catch (e2) {
          err.textContent = t('login.failed', { why: errText(e2) });
        }
      },
    },
    h('img.logo', { src: '/web/icon.svg', alt: '' }),
    h('h1', t('login.title')),
    field(t('login.username'), user),
    field(t('login.password'), pass),
    h('button.btn', { type: 'submit', testid: 'login-submit' }, t('login.submit')),
    err,
    h(
      'nav.links',
      { 'aria-label': t('login.more') },
      h('a', { href: '#signup', testid: 'to-signup' }, t('login.signup')),
      h('a', { href: '#invite', testid: 'to-invite' }, t('login.invite')),
      h('a', { href: '#forgot', testid: 'to-forgot' }, t('login.forgot')),
    ),
    h(
      'div.demo',
      { testid: 'demo-accounts' },
      h('div', t('login.demo')),
      h(
        'ul',
        DEMO_ACCOUNTS.map(([u, name]) =>
          h('li', h('button', { type: 'button', onclick: () => ((user.value = u), (pass.value = 'hehe-demo'), pass.focus()) }, `${u} · ${name}`)),
        ),
      ),
    ),
    h('button.btn.secondary', { type: 'button', onclick: () => (setLang(getLang() === 'zh' ? 'en' : 'zh'), showLogin(root, start)) }, t('lang.toggle')),
  );
  root.className = 'app';
  mount(root, h('main.public', form));
}
