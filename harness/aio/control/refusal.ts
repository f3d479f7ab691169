// A front-end request the device refuses: the text says what was wrong and where, like
// libvhost-user's vu_panic messages, and becomes a REPLY_ACK failure (status 1). Shared by every
// vhost-user back-end (harness/vhost/device-table.ts).
export { Refused } from '../../vhost/device-table.ts';
