// A conversation (street chief, home or inbox channel): message bubbles and issue cards, kept
// live by the chat list's subscription, and a composer for those who may post.

import { h, mount } from './dom.js';
import { t } from './i18n.js';
import { S } from './state.js';
import { canPost } from './rules.js';
import { header, bubble, toast, errText } from './ui.js';
import { issueCard } from './cards.js';

/** Draws chat `c` into `main`; `refresh` redraws it when the chat gets an item. */
export function chatView(main, c) {
  const list = h('div.msgs', { testid: 'messages' });
  const scroller = h('div.scroll', list);
  const render = () => {
    mount(
      list,
      c.items.length ? c.items.map((it) => (it.type === 'msg' ? bubble(it.author, it.text, it.time, it.author?.account_id === S.me.id) : issueCard(it.issue))) : h('div.empty', t('chat.empty')),
    );
    scroller.scrollTop = scroller.scrollHeight;
  };
  let composer = null;
  if (canPost(c.channel)) {
    const input = h('input', { testid: 'composer-input', placeholder: t('composer.placeholder'), maxLength: 2000 });
    const err = h('div.error', { testid: 'composer-error' });
    composer = h(
      'form.composer',
      {
        onsubmit: async (e) => {
          e.preventDefault();
          const text = input.value.trim();
          if (!text) return;
          err.textContent = '';
          try {
            await S.client.post(c.channel, text);
            input.value = '';
          } catch (e2) {
            toast(errText(e2));
          }
        },
      },
      input,
      h('button.btn', { testid: 'composer-send' }, t('send')),
    );
  }
  mount(main, header(c.title()), scroller, composer);
  render();
  return { refresh: render };
}
