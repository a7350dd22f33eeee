// Every string of the client, in Chinese and English. `t(key, vars)` picks the current language.
// Enrolment's strings (the admin console, sign-up, invites, passwords) are in i18n-enrol.js,
// notifications' (the stored inbox, notification settings) in i18n-notify.js, Web Push's in
// i18n-push.js.

import { ENROL_STRINGS } from './i18n-enrol.js';
import { NOTIFY_STRINGS } from './i18n-notify.js';
import { PUSH_STRINGS } from './i18n-push.js';

const STRINGS = {
  'app.title': ['和合', 'Hehe'],
  'lang.toggle': ['English', '中文'],
  'login.title': ['登录和合', 'Sign in to Hehe'],
  'login.username': ['用户名或手机号', 'Username or phone number'],
  'login.password': ['密码', 'Password'],
  'login.submit': ['登录', 'Sign in'],
  'login.failed': ['登录失败：{why}', 'Sign-in failed: {why}'],
  'login.demo': ['演示账号（密码 hehe-demo）', 'demo accounts (password hehe-demo)'],
  'logout': ['退出', 'Sign out'],
  'conn.connecting': ['连接中…', 'Connecting…'],
  'conn.open': ['已连接', 'Online'],
  'conn.reconnecting': ['重新连接中…', 'Reconnecting…'],
  'conn.closed': ['已断开', 'Offline'],
  'conn.idle': ['未连接', 'Not connected'],
  'chats': ['消息', 'Chats'],
  'chat.street': ['和合街长 · {name}', 'Street chief · {name}'],
  'chat.home': ['和合家园 · {name}', 'Home · {name}'],
  'chat.user': ['我的通知', 'My inbox'],
  'chat.room': ['和合客厅 · {name}', 'Living room · {name}'],
  'chat.mine': ['我的诉求', 'My issues'],
  'chat.worker': ['网格员待办', 'Grid worker inbox'],
  'chat.board': ['街长看板', "Street chief's board"],
  'chat.empty': ['暂无消息', 'Nothing yet'],
  'back': ['返回', 'Back'],
  'send': ['发送', 'Send'],
  'composer.placeholder': ['输入消息', 'Write a message'],
  'composer.muted': ['你已被禁言', 'You are muted'],
  'raise': ['我要反映', 'Raise an issue'],
  'raise.category': ['类别', 'Category'],
  'raise.place': ['位置（网格或楼栋）', 'Place (grid or building)'],
  'raise.wholeGrid': ['{name}（整个网格）', '{name} (the whole grid)'],
  'raise.pick.community': ['选择社区', 'Choose a community'],
  'raise.pick.grid': ['选择网格', 'Choose a grid'],
  'raise.level.scope': ['范围', 'Where'],
  'raise.level.community': ['社区', 'Community'],
  'raise.level.grid': ['网格', 'Grid'],
  'raise.level.building': ['楼栋', 'Building'],
  'raise.pickPlace': ['请选择网格或楼栋', 'Choose a grid or a building'],
  'raise.onBehalf': ['代居民反映（居民账号编号，可选）', 'For a resident (their account number, optional)'],
  'raise.onBehalfLead': ['代哪位居民反映（居民账号编号）', 'For which resident (their account number)'],
  'raise.onBehalfNeeded': ['楼栋长请填写代为反映的居民账号编号', 'A building lead raises an issue for a resident: enter their account number'],
  'raise.title': ['标题', 'Title'],
  'raise.description': ['描述', 'Description'],
  'raise.photo': ['照片', 'Photo'],
  'raise.public': ['公开（社区居民可见）', 'Public (the community sees it)'],
  'raise.submit': ['提交', 'Submit'],
  'raise.similar': ['附近已有类似诉求', 'Similar open issues nearby'],
  'raise.metoo': ['我也遇到', 'Me too'],
  'raise.metooDone': ['已附议', 'Added your report'],
  'cancel': ['取消', 'Cancel'],
  'issue.timeline': ['处理进度', 'Timeline'],
  'issue.before': ['问题照片', 'Before'],
  'issue.after': ['处理后照片', 'After'],
  'issue.evidence': ['其他照片', 'Other photos'],
  'issue.assignee': ['处理人：{name}', 'Handled by {name}'],
  'issue.due': ['剩余 {left}', '{left} left'],
  'issue.overdueBy': ['已超时 {left}', 'overdue by {left}'],
  'issue.overdue': ['曾超时', 'overdue'],
  'issue.reopened': ['重开 {n} 次', 'reopened {n}×'],
  'act.acknowledge': ['接单', 'Acknowledge'],
  'act.progress': ['上报进展', 'Post progress'],
  'act.complete': ['办结', 'Complete'],
  'act.return': ['退回', 'Return'],
  'act.escalate': ['上报上级', 'Escalate'],
  'act.accept': ['受理', 'Accept'],
  'act.reject': ['不予受理', 'Reject'],
  'act.dispatch': ['派单', 'Dispatch'],
  'act.verify_ok': ['核查通过', 'Verify'],
  'act.verify_fail': ['核查不通过', 'Fail verification'],
  'act.rate': ['评价', 'Rate'],
  'act.reopen': ['没有解决，重开', 'Not fixed: reopen'],
  'act.withdraw': ['撤回', 'Withdraw'],
  'act.follow': ['关注', 'Follow'],
  'act.reason': ['原因', 'Reason'],
  'act.text': ['进展说明', 'What was done'],
  'act.assignee': ['处理人账号编号', 'Assignee account id'],
  'act.afterPhoto': ['处理后照片（可选）', 'Photo of the work (optional)'],
  'act.done': ['已完成', 'Done'],
  'rate.title': ['评价处理结果', 'Rate the result'],
  'rate.resolved': ['问题已解决', 'It is fixed'],
  'rate.stars': ['星级', 'Stars'],
  'rate.satisfaction': ['满意度', 'Satisfaction'],
  'rate.satisfied': ['满意', 'Satisfied'],
  'rate.basic': ['基本满意', 'Fair'],
  'rate.unsatisfied': ['不满意', 'Unsatisfied'],
  'rate.comment': ['意见', 'Comment'],
  'rate.submit': ['提交评价', 'Send rating'],
  'board.title': ['街道实时统计', 'Live street figures'],
  'board.open': ['未办结', 'open'],
  'board.overdue': ['超时', 'overdue'],
  'board.communities': ['各社区', 'Per community'],
  'board.grids': ['各网格 · {name}', 'Per grid · {name}'],
  'board.escalations': ['上报街道的诉求', 'Escalations'],
  'board.overdueList': ['超时诉求', 'Overdue issues'],
  'board.none': ['无', 'None'],
  'room.participants': ['在场 {n} 人', '{n} present'],
  'room.raise': ['举手', 'Raise hand'],
  'room.lower': ['放下手', 'Lower hand'],
  'room.floor': ['发言人：{name}', 'Floor: {name}'],
  'room.noFloor': ['无人发言', 'Nobody has the floor'],
  'room.giveFloor': ['给发言权', 'Give floor'],
  'room.takeFloor': ['收回发言权', 'Take floor'],
  'room.mute': ['禁言', 'Mute'],
  'room.unmute': ['解除禁言', 'Unmute'],
  'room.remove': ['移出', 'Remove'],
  'room.lock': ['锁定会场', 'Lock'],
  'room.unlock': ['解锁', 'Unlock'],
  'room.start': ['开始会议', 'Start'],
  'room.end': ['结束会议', 'End'],
  'room.modeOpen': ['自由发言', 'Open mode'],
  'room.modeFloor': ['仅发言人', 'Floor only'],
  'room.openVote': ['发起表决', 'Open a vote'],
  'room.question': ['表决事项', 'Question'],
  'room.options': ['选项（每行一个）', 'Options (one a line)'],
  'room.anonymous': ['匿名', 'Anonymous'],
  'room.hide': ['结束前隐藏结果', 'Hide results until closed'],
  'room.cast': ['投票', 'Vote'],
  'room.closeVote': ['结束表决', 'Close vote'],
  'room.ballots': ['{n} 票', '{n} ballots'],
  'room.hidden': ['结果将在表决结束后公布', 'Results shown when the vote closes'],
  'room.minutes': ['会议纪要', 'Minutes'],
  'room.appendMinutes': ['记入纪要', 'Add to minutes'],
  'room.publishMinutes': ['发布纪要', 'Publish minutes'],
  'room.state.draft': ['草稿', 'Draft'],
  'room.state.published': ['未开始', 'Not started'],
  'room.state.live': ['进行中', 'Live'],
  'room.state.ended': ['已结束', 'Ended'],
  'room.state.closed': ['已归档', 'Closed'],
  'room.state.cancelled': ['已取消', 'Cancelled'],
  'room.locked': ['已锁定', 'Locked'],
  'room.removed': ['你已被移出会场', 'You were removed from the room'],
  'room.you': ['（我）', ' (you)'],
  'room.hand': ['举手中', 'hand up'],
  'room.speaking': ['发言中', 'speaking'],
  'room.muted': ['禁言', 'muted'],
  'room.chair': ['主持人', 'chair'],
  'error': ['出错了（{code}），请重试。', 'Something went wrong ({code}): try again.'],
  'loading': ['加载中…', 'Loading…'],
  'state.submitted': ['待受理', 'Submitted'],
  'state.accepted': ['已受理', 'Accepted'],
  'state.dispatched': ['已派单', 'Dispatched'],
  'state.in_progress': ['处置中', 'In progress'],
  'state.escalated': ['已上报', 'Escalated'],
  'state.resolved': ['已处置待核查', 'Awaiting verification'],
  'state.awaiting_rating': ['待评价', 'Awaiting rating'],
  'state.closed': ['已结案', 'Closed'],
  'state.rejected': ['不予受理', 'Rejected'],
  'state.duplicate': ['已合并', 'Merged'],
  'closure.fixed': ['已解决', 'fixed'],
  'closure.not_fixable': ['无法解决', 'cannot be fixed'],
  'closure.not_our_responsibility': ['非本部门职责', 'not our responsibility'],
  'closure.withdrawn': ['已撤回', 'withdrawn'],
  'closure.notRated': ['（未评价）', ' (not rated)'],
  'entry.submitted': ['提交了诉求', 'raised the issue'],
  'entry.accepted': ['受理', 'accepted it'],
  'entry.rejected': ['不予受理', 'rejected it'],
  'entry.merged': ['合并', 'merged it'],
  'entry.dispatched': ['派单', 'dispatched it'],
  'entry.acknowledged': ['接单', 'acknowledged it'],
  'entry.returned': ['退回', 'returned it'],
  'entry.escalated': ['上报上级', 'escalated it'],
  'entry.update': ['进展', 'update'],
  'entry.note': ['内部备注', 'internal note'],
  'entry.completed': ['办结', 'completed it'],
  'entry.declared_unfixable': ['认定无法解决', 'declared it unfixable'],
  'entry.verified': ['核查通过', 'verified it'],
  'entry.verification_failed': ['核查不通过', 'failed verification'],
  'entry.rated': ['评价', 'rated it'],
  'entry.reopened': ['重开', 'reopened'],
  'entry.withdrawn': ['撤回', 'withdrew it'],
  'entry.me_too': ['我也遇到', 'me too'],
  'entry.photo': ['上传照片', 'added a photo'],
  'entry.sla_warning': ['即将超时', 'deadline near'],
  'entry.sla_breach': ['已超时', 'deadline missed'],
  'entry.closed_not_rated': ['未评价结案', 'closed, not rated'],
  'system': ['系统', 'System'],
  ...ENROL_STRINGS,
  ...NOTIFY_STRINGS,
  ...PUSH_STRINGS,
};

// The saved choice, else the browser's language: Chinese for zh-*, English otherwise.
let lang = sessionStorage.getItem('hehe.lang') || (/^zh\b/i.test(navigator.language || 'zh') ? 'zh' : 'en');

export function getLang() {
  return lang;
}

export function setLang(next) {
  lang = next === 'en' ? 'en' : 'zh';
  sessionStorage.setItem('hehe.lang', lang);
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
}

/** @param {string} key @param {Record<string, string | number>} [vars] */
export function t(key, vars) {
  const pair = STRINGS[key];
  let text = pair ? pair[lang === 'zh' ? 0 : 1] : key;
  for (const [k, v] of Object.entries(vars || {})) text = text.replace(`{${k}}`, String(v));
  return text;
}

/** A place's name in the current language. */
export function placeName(place) {
  if (!place) return '';
  return lang === 'zh' ? place.name_zh || place.name : place.name;
}

/** A duration as "2h 5m" / "2小时5分". */
export function duration(ms) {
  const m = Math.max(0, Math.round(ms / 60000));
  const d = Math.floor(m / 1440);
  const hh = Math.floor((m % 1440) / 60);
  const mm = m % 60;
  if (lang === 'zh') return d ? `${d}天${hh}小时` : hh ? `${hh}小时${mm}分` : `${mm}分`;
  return d ? `${d}d ${hh}h` : hh ? `${hh}h ${mm}m` : `${mm}m`;
}
