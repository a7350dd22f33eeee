// Web Push's strings (push.js), in Chinese and English; merged into i18n.js's table.

export const PUSH_STRINGS = {
  'push.unsupported': ['此浏览器不支持推送通知。', 'This browser cannot receive push notifications.'],
  'push.denied': [
    '通知已被浏览器禁止，请在浏览器的网站设置中允许。',
    "Notifications are blocked: allow them in the browser's site settings.",
  ],
  'push.dismissed': ['未允许通知，推送没有开启。', 'Notifications were not allowed, so push is off.'],
  'push.failed': ['无法在此浏览器开启推送，请稍后再试。', 'Push could not be turned on in this browser: try again later.'],
};
