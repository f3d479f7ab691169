// A front-end request the device refuses: the text says what was wrong and where, like
// libvhost-user's vu_panic messages, and becomes a REPLY_ACK failure (status 1).
export class Refused extends Error {
  override readonly name = 'Refused';
}
