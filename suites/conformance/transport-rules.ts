// What each requirement of the catalogue means on each transport, and how its check judges it.
// Rendered, with CHECKS, into docs/conformance-requirements.md (suites/conformance/catalogue.ts;
// `npm run docs:conformance`). Spec sections are virtio v1.2-cs01; requirements are paraphrased.
//
// The in-process reference device keeps the virtio status semantics of the spec (§2.1.2, §2.4,
// §3.1.1). Over vhost-user the back-end follows the ring life cycle of QEMU
// docs/interop/vhost-user.rst ("Ring states"): a ring is stopped until a kick arrives on the fd of
// SET_VRING_KICK, GET_VRING_BASE stops it, and with VHOST_USER_F_PROTOCOL_FEATURES (bit 30) a ring
// starts disabled until SET_VRING_ENABLE; SET_STATUS only forwards the virtio status. Over kernel
// vhost-net (drivers/vhost/net.c, vhost.c) rings run once VHOST_NET_SET_BACKEND attaches a backend
// and there is no virtio status at all.

export interface RequirementRules {
  /** The spec requirement in one or two sentences, in our words. */
  requirement: string;
  /** The driver-side check, as the check's code does it; in-process specifics included. */
  howChecked: string;
  /** How the requirement maps onto vhost-user, or 'not expressible: why'. */
  vhostUser: string;
  /** The same for kernel vhost-net. */
  vhostNet: string;
}

const NO_PACKED_VN = 'not expressible: vhost-net has no packed rings (VHOST_GET_FEATURES never offers RING_PACKED).';
const PACKED_VU =
  'Packed ring chosen by RING_PACKED in SET_FEATURES; SET_VRING_BASE carries the start position with the avail wrap counter in bit 15 (0x8000 here).';
const CALL_VU = 'The used-buffer notification is a write to the call eventfd of SET_VRING_CALL; the check reads that eventfd.';
const CALL_VN = 'The used-buffer notification is a write to the call eventfd of VHOST_SET_VRING_CALL; vhost_notify() applies the suppression rules.';
const HDR_VU = "The back-end writes the virtio-net header into the guest's RX buffer itself; the frames come from the DUT's far end (the wire).";
const HDR_VN =
  'The RX header comes from the tap (IFF_VNET_HDR, header size 12 by TUNSETVNETHDRSZ) or, with VHOST_NET_F_VIRTIO_NET_HDR (bit 27), from vhost-net itself (zeroed: no offloads); vhost-net writes num_buffers when MRG_RXBUF is negotiated.';
const TX_HDR_VN =
  'The TX header goes to the tap, which parses it (IFF_VNET_HDR); with VHOST_NET_F_VIRTIO_NET_HDR vhost-net strips it and the backend sees the bare frame.';
const NO_OFFLOAD_VN =
  'VHOST_GET_FEATURES offers no offload bits (VHOST_NET_FEATURES holds ring and transport bits and MRG_RXBUF only), so the check is skipped as not offered; offloads belong to the tap (a VMM enables them with TUNSETOFFLOAD) and their header passes through vhost-net unchanged.';

const SURVIVE =
  'The driver breaks a MUST NOT on purpose; the spec leaves the device free in how it reacts (it SHOULD set DEVICE_NEEDS_RESET, §2.1.2). The suite requires that the device survives: no crash, no hang, and no write outside the used rings and the buffers it was given.';
const ADVERSARIAL_CHECK =
  'Ring of 16; all guest memory except the used rings and the buffers handed to the device is snapshotted (descriptor tables and avail rings labelled). The stimulus is published, both rings kicked, frames injected with a wire; after 400 ms the device must be alive, the snapshot unchanged, and a fresh session must pass a good frame (health probe). Whether the session still answers, and DEVICE_NEEDS_RESET when status can be read, are noted. A crash or hang is this check\'s failure; the runner restarts a device it manages and goes on.';
const ADVERSARIAL_VU =
  'Same stimulus in memory shared by SET_MEM_TABLE. A crash is the back-end process exiting or its socket going away; testpmd is restarted, a user-named socket is not (the remaining checks are then not run). DEVICE_NEEDS_RESET is read with GET_STATUS when protocol feature STATUS is negotiated.';
const ADVERSARIAL_VN =
  'Same stimulus; vhost-net reports a bad ring through vq_err (the SET_VRING_ERR eventfd, not installed here) and stops processing that ring. The kernel cannot "crash" as a process (alive is always true), so a hang, a stray write or a failed health probe is what can fail; there is no DEVICE_NEEDS_RESET.';

export const TRANSPORT_RULES: Record<string, RequirementRules> = {
  F1: {
    requirement:
      'The device offers no feature whose prerequisite it does not offer as well (§2.2.2), using the virtio-net dependencies of §5.1.3.1 (GUEST_TSO4 needs GUEST_CSUM, MQ needs CTRL_VQ, and so on).',
    howChecked:
      "Reads everything the device offers (not narrowed by --features), masks the vhost bits 26, 27 and 30, and applies each rule of NET_FEATURE_REQUIRES (harness/virtio/device/net-features.ts); an offered feature with none of its prerequisites fails. In-process: the reference device's offered features.",
    vhostUser:
      'The VHOST_USER_GET_FEATURES bitmap with the vhost bits masked: 26 VHOST_F_LOG_ALL, 27 VHOST_NET_F_VIRTIO_NET_HDR, 30 VHOST_USER_F_PROTOCOL_FEATURES are not virtio features. Offloads a back-end offers are judged as a device\'s.',
    vhostNet:
      'The VHOST_GET_FEATURES bitmap with the same bits masked. vhost-net offers ring and transport bits and MRG_RXBUF (VHOST_NET_FEATURES), no offloads, so the offload rules hold trivially.',
  },
  F2: {
    requirement: 'The device offers VIRTIO_F_VERSION_1 (bit 32) (§6.2).',
    howChecked: 'Bit 32 must be set in everything the device offers.',
    vhostUser: 'Bit 32 of the VHOST_USER_GET_FEATURES bitmap.',
    vhostNet: 'Bit 32 of the VHOST_GET_FEATURES bitmap (VERSION_1 is part of VHOST_FEATURES in drivers/vhost/vhost.h).',
  },
  F3: {
    requirement:
      'The device SHOULD accept any valid subset of the features it offered; a subset it does not accept MUST be refused by not setting FEATURES_OK (§2.2.2), never accepted and then left broken.',
    howChecked:
      'For each valid subset of what is offered (VERSION_1; +MRG_RXBUF; +INDIRECT_DESC+EVENT_IDX; +RING_PACKED; every offered feature with its prerequisites) a fresh rig negotiates it and sends one TX frame: accepted but the buffer not used within 2 s (or, with a wire, the frame not seen) fails; a clean refusal warns (the SHOULD); all working passes. In-process: FEATURES_OK written and read back from the status register (§3.1.1).',
    vhostUser:
      'SET_FEATURES carries NEED_REPLY when REPLY_ACK is negotiated, so a non-zero ack is a refusal; with protocol feature STATUS the suite writes FEATURES_OK by SET_STATUS and reads it back by GET_STATUS, and a cleared bit is a refusal. Without either, a back-end can only refuse by closing the connection, which the check reports as a failure.',
    vhostNet:
      'VHOST_SET_FEATURES return code: an error (EOPNOTSUPP for bits outside VHOST_NET_FEATURES) is a refusal. There is no FEATURES_OK.',
  },
  F4: {
    requirement: 'The device MUST NOT use buffers or send used-buffer notifications before the driver sets DRIVER_OK (§2.1.2).',
    howChecked:
      'A rig is brought up without DRIVER_OK; 4 RX buffers (0xa5-filled) and 1 TX buffer are posted and both rings kicked, a frame is injected with a wire, and for 300 ms any used entry, written RX byte, call, or frame at the far end fails. Then DRIVER_OK is set and the TX buffer must be used, which shows the check could have seen use. In-process: DRIVER_OK in the status register, as virtio §2.1.2 and §3.1.1 define it.',
    vhostUser:
      'Judged by the ring life cycle, not by SET_STATUS: no ring processing before SET_VRING_KICK starts the ring (and, when bit 30 is negotiated, SET_VRING_ENABLE enables it). The check sets the rings up without SET_VRING_KICK and without DRIVER_OK, posts and kicks (the eventfds the device does not have yet), and expects nothing used; then it sends SET_VRING_KICK and a kick, and the TX buffer must be used, after SET_STATUS(DRIVER_OK) at the latest for back-ends that wait for it (DPDK). Use between SET_VRING_KICK and DRIVER_OK is allowed and only noted: SET_STATUS only forwards the status, and QEMU sends DRIVER_OK after the kicks.',
    vhostNet:
      'not expressible: vhost-net has no DRIVER_OK (virtio status is VHOST_VDPA_SET_STATUS, a vDPA ioctl); its rings run as soon as VHOST_NET_SET_BACKEND attaches a backend.',
  },
  F5: {
    requirement:
      'After a reset the device MUST NOT send notifications or touch the virtqueues until the driver initialises it again (§2.4.1).',
    howChecked:
      'The device is first shown working (one TX buffer used), then reset; 4 RX buffers and 1 TX buffer are posted and kicked, a frame injected with a wire, and for 300 ms used.idx moving on either ring, a written RX buffer, a call, the frame at the far end, or (not over vhost-user) a readable status other than 0 fails. In-process: reset is writing status 0 (§2.4).',
    vhostUser:
      "Reset is the stop QEMU's vhost_dev_stop performs: GET_VRING_BASE on each ring (which stops it; with all rings stopped the device is suspended), then SET_STATUS(0) or RESET_DEVICE. After that, no ring access and no call. RESET_DEVICE (protocol feature RESET_DEVICE) resets all rings on its own. SET_STATUS(0) while rings are started is not a stop in vhost-user and is not judged.",
    vhostNet:
      'VHOST_NET_SET_BACKEND with fd -1 or VHOST_RESET_OWNER (the check uses RESET_OWNER, which releases the ring eventfds and the memory table); after it nothing may be touched.',
  },
  S1: {
    requirement: 'The device MUST NOT write into a device-readable buffer (§2.7.5.1; §2.8.15 for packed rings).',
    howChecked:
      'For each ring format offered: 8 TX chains of 1 to 3 readable pieces under a memory snapshot, transmitted, and compared once used. With a wire (split): a 2048-byte buffer without VIRTQ_DESC_F_WRITE posted on the RX ring ahead of 2 writable ones, 2 frames injected; it must stay untouched.',
    vhostUser: 'Same check; guest memory is a memfd shared by SET_MEM_TABLE, so the snapshot sees every write of the back-end.',
    vhostNet: "Same check, split rings only; the kernel writes through this process's own mapping (the memory table maps guest addresses to the process's addresses).",
  },
  S2: {
    requirement: 'The descriptor table and indirect tables are driver memory the device only reads: it MUST NOT write them (§2.7.5.1).',
    howChecked:
      'Split ring: 8 TX and 8 RX chains, half through indirect tables when INDIRECT_DESC is offered; every descriptor table and indirect table is sampled every 2 ms while the device works (a write later undone is caught) and once after.',
    vhostUser: 'Same check over the shared memfd.',
    vhostNet: 'Same check.',
  },
  S3: {
    requirement: 'The device MUST NOT assume any particular arrangement of descriptors: framing does not depend on how the driver splits a buffer (§2.7.4.1).',
    howChecked:
      'TX: one 142-byte frame in 4 layouts (header in 12 one-byte descriptors; header and frame in one; header then three pieces; header split 5+7 with the 7 sharing a descriptor with the frame start), each compared byte for byte at the far end. RX: 3 writable layouts (2048; 12+2048; 4+8+2048) each receiving a 200-byte frame, read back after the 12-byte header.',
    vhostUser: 'Same check; runs only where the suite has the far end of the device (a wire).',
    vhostNet: 'Same check over the tap or AF_PACKET backend.',
  },
  S4: {
    requirement:
      'Before it moves used.idx past an entry, the device MUST have set that entry\'s len and written at least len bytes into the buffer (§2.7.8.2).',
    howChecked:
      'With VERSION_1, and with MRG_RXBUF when offered: two RX buffers, one filled with 0xa5 and one with 0x5a, each receiving a 150-byte frame; each buffer is copied in the same event-loop turn that sees its used entry. A byte below len still holding its canary in both copies was not written when used.idx moved; len 0 or beyond the buffer fails too.',
    vhostUser: 'Same check; the back-end writes header and frame into the shared memory, then len, then used.idx.',
    vhostNet: 'Same check. The header bytes are the tap\'s (or vhost-net\'s with bit 27), num_buffers vhost-net\'s own; all must be in place before used.idx moves.',
  },
  S5: {
    requirement: 'used.len is the number of bytes the device wrote into the buffer: header plus frame on RX, 0 on TX (§2.7.8).',
    howChecked:
      'TX frames of 60, 300 and 1400 bytes must come back with len 0; with a wire, RX frames of the same sizes in 2048-byte buffers must come back with len 12 + frame. Larger than written fails; smaller warns (the note in §2.7.8.2 tolerates it).',
    vhostUser: 'Same check.',
    vhostNet: 'Same check; RX without a wire is not tested.',
  },
  S6: {
    requirement:
      'Each used entry names a buffer the driver made available (the chain head on split rings, the Buffer ID on packed rings), and each buffer is returned exactly once (§2.7.8, §2.8.6).',
    howChecked:
      'For each ring format offered: 24 TX buffers of 1 to 3 descriptors and, with a wire, 12 RX buffers for 12 injected frames; after use and 300 ms for late duplicates, an entry naming no buffer in flight, or a buffer named twice, fails. Unknown or repeated ids seen by any other check are S6\'s to judge.',
    vhostUser: 'Same check.',
    vhostNet: 'Same check, split rings only.',
  },
  S7: {
    requirement: 'used.idx is a free-running 16-bit counter: it wraps at 2^16, not at the ring size (§2.7.8).',
    howChecked:
      'avail.idx, used.idx and used_event are preset to 0xfff0 in guest memory and the device\'s next avail index to 0xfff0; 5 batches of 8 TX buffers on a ring of 256 must leave used.idx at 0xfff8, 0x0000, 0x0008, ... An impossible move of used.idx, seen by any check, is S7\'s to judge. In-process: the base is the ring state the session hands the reference device.',
    vhostUser:
      'The preset base arrives by SET_VRING_BASE (next avail index 0xfff0); the back-end continues from the used.idx it finds in the ring in memory.',
    vhostNet: 'The preset base arrives by VHOST_SET_VRING_BASE; vhost reads used.idx from the ring when the backend is attached (vhost_vq_init_access).',
  },
  S8: {
    requirement: 'The device consumes only entries the driver published: avail ring slots at or beyond avail.idx are not available, whatever they hold (derived from §2.7.6).',
    howChecked:
      'TX: 4 published chains and 8 complete, valid chains written into the next avail slots but never published; after use and 300 ms none of the 8 may be used or, with a wire, transmitted. With a wire, RX: 2 published buffers and 6 valid writable buffers in unpublished slots, 6 frames injected; the 6 must stay untouched and no used entry may name them.',
    vhostUser: 'Same check.',
    vhostNet: 'Same check.',
  },
  S9: {
    requirement: 'The device follows a chain in NEXT order and takes exactly len bytes from each descriptor (§2.8.18).',
    howChecked:
      'For each ring format offered: a 200-byte frame cut into 4 pieces (12, 50, 70, rest), each inside a larger 0xee-filled area; on split rings the chain occupies table slots 9, 3, 12, 6 in that order. The frame at the far end must be the pieces concatenated, no junk.',
    vhostUser: 'Same check.',
    vhostNet: 'Same check, split rings only.',
  },
  I1: {
    requirement: 'The device MUST ignore the WRITE flag on a descriptor that points at an indirect table (§2.7.5.3.2).',
    howChecked:
      'Split TX: the ring descriptor has INDIRECT|WRITE and points at a table [12-byte header, 180-byte frame], both device-readable; the frame must arrive intact at the far end.',
    vhostUser: 'Same check.',
    vhostNet: 'Same check (INDIRECT_DESC is in VHOST_FEATURES).',
  },
  I2: {
    requirement:
      'The device MUST handle zero or more direct descriptors followed by one INDIRECT descriptor, following the chain into the table (§2.7.5.3.2).',
    howChecked:
      'TX: [12-byte header] then INDIRECT to [60 + 88 bytes of the frame]; the frame must arrive intact. RX: [12-byte writable header] then INDIRECT to [2048 writable]; the frame must land in the table\'s buffer and the table itself stay unwritten.',
    vhostUser: 'Same check.',
    vhostNet: 'Same check.',
  },
  I3: {
    requirement:
      'Packed rings: in an indirect table the Buffer ID is reserved and ignored by the device, as is WRITE on the descriptor pointing at the table (§2.8.7).',
    howChecked:
      "Packed TX: pointer flags INDIRECT|WRITE, table entries carrying Buffer ID 0xbeef; the frame must arrive intact and the used descriptor carry the ring descriptor's Buffer ID.",
    vhostUser: `Same check. ${PACKED_VU}`,
    vhostNet: NO_PACKED_VN,
  },
  N1: {
    requirement:
      'Without EVENT_IDX, while avail.flags is 0 (NO_INTERRUPT clear), the device MUST send a used-buffer notification after using buffers (§2.7.7.2).',
    howChecked:
      'One TX buffer and, with a wire, one RX buffer used with avail.flags 0: a call must arrive within 1 s of each used entry. In-process: the reference device signals the call eventfd the session holds.',
    vhostUser: CALL_VU,
    vhostNet: CALL_VN,
  },
  N2: {
    requirement: 'Without EVENT_IDX, while avail.flags has NO_INTERRUPT, the device SHOULD NOT send used-buffer notifications (§2.7.7.2).',
    howChecked:
      'avail.flags = NO_INTERRUPT on both rings; 8 TX buffers kicked one at a time and, with a wire, 8 RX frames; after use and 300 ms, any call warns. NOTIFY_ON_EMPTY is never negotiated, so no notification is excused.',
    vhostUser: CALL_VU,
    vhostNet: CALL_VN,
  },
  N3: {
    requirement:
      'With EVENT_IDX the device ignores avail.flags and MUST notify when used.idx moves past used_event, across the 16-bit wrap too (§2.7.7.2).',
    howChecked:
      'TX one buffer at a time with avail.flags = 1 (to be ignored) and used_event fixed: from base 0 with used_event 3, and from base 0xfffc with used_event 0x0001 (the crossing spans the wrap). At the step whose used.idx move crosses used_event (vring_need_event) a call must arrive within 1 s. A ring that misbehaved before the crossing leaves the phase not evaluable (S6/S7).',
    vhostUser: `${CALL_VU} used_event is read by the back-end from guest memory.`,
    vhostNet: `${CALL_VN} used_event is read by vhost from guest memory.`,
  },
  N4: {
    requirement: 'With EVENT_IDX the device SHOULD NOT notify unless used.idx moves past used_event (§2.7.7.2).',
    howChecked: 'The same two runs as N3; a call at any step whose used.idx move does not cross used_event warns.',
    vhostUser: CALL_VU,
    vhostNet: CALL_VN,
  },
  N5: {
    requirement: 'The device writes used.flags as 0 or 1 (NO_NOTIFY) only, and leaves it 0 when EVENT_IDX is negotiated (§2.7.10.2).',
    howChecked:
      'Without EVENT_IDX and, when offered, with it: used.flags of both rings sampled continuously for about 400 ms while 32 TX buffers (kicked every 4) and, with a wire, 16 RX frames go through.',
    vhostUser: 'Same check; used.flags is in the shared ring memory.',
    vhostNet: 'Same check; vhost-net sets NO_NOTIFY while its worker polls and clears it when idle (vhost_disable_notify / vhost_enable_notify), and writes avail_event instead with EVENT_IDX.',
  },
  N6: {
    requirement: 'The device copes with available-buffer notifications that announce nothing new (spurious kicks): nothing is consumed and it keeps working (§2.7.10.2).',
    howChecked:
      '2000 kicks per ring on empty rings, then 300 ms: the device must be alive with used.idx 0 on both rings, and a TX frame sent afterwards must be used (and seen at the far end with a wire).',
    vhostUser: 'The available-buffer notification is a write to the kick eventfd of SET_VRING_KICK; eventfd writes coalesce, so the back-end may see fewer wake-ups than kicks.',
    vhostNet: 'The available-buffer notification is a write to the kick eventfd of VHOST_SET_VRING_KICK (coalescing as for vhost-user).',
  },
  N7: {
    requirement:
      'With a driver that notifies only when the device asks (avail_event with EVENT_IDX, used.flags NO_NOTIFY clear without it), the ring keeps moving: the device never waits for a kick it told the driver not to send (liveness, §2.7.10).',
    howChecked:
      'The TX ring is kept full with one 60-byte frame, kicking only when vring_need_event(avail_event) says so (EVENT_IDX) or NO_NOTIFY is clear (without); up to 10^6 buffers (in-process 5·10^4) or 3 s per mode. No progress for 1 s with buffers in flight is a stall and fails.',
    vhostUser: 'Kick eventfd of SET_VRING_KICK; avail_event and used.flags are written by the back-end in the shared ring.',
    vhostNet: 'Kick eventfd of VHOST_SET_VRING_KICK; vhost-net writes avail_event (EVENT_IDX) or NO_NOTIFY itself.',
  },
  P1: {
    requirement: 'In a used descriptor the device sets AVAIL and USED both equal to its used wrap counter, which flips at every lap (§2.8.1).',
    howChecked:
      '3 × ring size TX buffers through a packed ring of 255 (256 if the device refuses 255), in batches of 32; each used descriptor must appear at the next position with AVAIL = USED = the lap\'s wrap counter.',
    vhostUser: PACKED_VU,
    vhostNet: NO_PACKED_VN,
  },
  P2: {
    requirement:
      'The device processes descriptors in ring order and writes used descriptors at consecutive positions, stepping past each list by its length (§2.8.12).',
    howChecked:
      'Ring of 64: 3 rounds of 8 lists of 1 to 4 descriptors, wrapping; each used descriptor must be where the lengths of the previous lists put it. Completion out of ring order is only noted.',
    vhostUser: PACKED_VU,
    vhostNet: NO_PACKED_VN,
  },
  P3: {
    requirement:
      'A descriptor becomes available only when its AVAIL/USED flags flip for the driver\'s current lap; stale descriptors from the previous lap and descriptors not yet flipped are not used (§2.8.15).',
    howChecked:
      'Ring of 8: a full lap of tagged frames is used; in lap 2 only 2 descriptors are published and one more written with its flags not flipped; none of the 6 lap-1 leftovers nor the held one may be transmitted. Flipping the held one\'s flags must then send it.',
    vhostUser: PACKED_VU,
    vhostNet: NO_PACKED_VN,
  },
  P4: {
    requirement: 'Once it has marked a descriptor used, the device does not change it again until the driver reuses the position (§2.8.15).',
    howChecked: 'Ring of 32: after 8 buffers are used, the positions they occupy are compared every millisecond for 300 ms while 8 more buffers go through.',
    vhostUser: PACKED_VU,
    vhostNet: NO_PACKED_VN,
  },
  P5: {
    requirement:
      'A used descriptor carries the Buffer ID of the last descriptor of the list, len = bytes written, and WRITE set exactly when the device wrote (§2.8.3 to §2.8.6).',
    howChecked:
      'TX list of 2 whose first descriptor carries a decoy Buffer ID 0x7777: the used descriptor must name the last one with WRITE clear. With a wire, RX list [12, 2048] with decoy 0x6666 and a 300-byte frame: the last ID, WRITE set, len 312.',
    vhostUser: PACKED_VU,
    vhostNet: NO_PACKED_VN,
  },
  P6: {
    requirement: 'A packet spread over several buffers (MRG_RXBUF) has its first buffer marked used last, so the driver never sees a partial packet (§2.8.9).',
    howChecked:
      'Packed ring with MRG_RXBUF: 16 RX buffers of 256 bytes, one 1400-byte frame; the first buffer\'s position is polled, and when it shows used every other buffer of the packet must already be used.',
    vhostUser: PACKED_VU,
    vhostNet: NO_PACKED_VN,
  },
  P7: {
    requirement:
      'The device honours the driver event suppression structure (no notifications with DISABLE, one per used buffer with ENABLE, with EVENT_IDX only at the named descriptor) and keeps the reserved values of the device event suppression structure clear (§2.8.10, §2.8.14).',
    howChecked:
      'TX one buffer at a time: 6 with DISABLE (no call), 2 with ENABLE (a call each); with EVENT_IDX, DESC naming position 3 with wrap 1 (a call for that buffer only). Device event flags seen must be 0 to 2, DESC only with EVENT_IDX. A miss warns.',
    vhostUser: `${PACKED_VU} ${CALL_VU}`,
    vhostNet: NO_PACKED_VN,
  },
  O1: {
    requirement: 'With IN_ORDER the device uses buffers in the order they were made available (§6.2).',
    howChecked:
      'For each ring format offered, with IN_ORDER (and MRG_RXBUF when offered): 16 TX buffers published at once and, with a wire, 12 RX buffers and 2 injected frames. An in-order reader retires every buffer up to the one each entry names; the retired order must equal the available order.',
    vhostUser: 'Same check when the back-end offers IN_ORDER.',
    vhostNet: 'Same check, split rings only, where VHOST_GET_FEATURES offers IN_ORDER (older VHOST_NET_FEATURES lack it: skipped as not offered).',
  },
  O2: {
    requirement:
      'With IN_ORDER the device may return a batch with one entry: it names the batch\'s last buffer and sits where the first buffer\'s entry would go, and the skipped buffers count as completely used (§2.7.9, §2.8.8).',
    howChecked:
      'The same runs as O1: an entry standing for more buffers than used.idx advanced fails, and a skipped RX buffer still holding 4 or more trailing canary bytes fails. A device that never batches is a skip (not exercised).',
    vhostUser: 'Same check when the back-end offers IN_ORDER.',
    vhostNet: 'As O1: only where IN_ORDER is offered, split rings only.',
  },
  H1: {
    requirement: 'Without MRG_RXBUF each packet goes into one buffer and num_buffers in the 12-byte header is 1 (§5.1.6.3.2, §5.1.6.4.1).',
    howChecked: 'VERSION_1 only: frames of 100, 500 and 1400 bytes into 0xa5-filled 2048-byte buffers; each in one buffer with num_buffers 1.',
    vhostUser: HDR_VU,
    vhostNet: `${HDR_VN} Without MRG_RXBUF the check shows whether anything set num_buffers to 1.`,
  },
  H2: {
    requirement:
      'With MRG_RXBUF, num_buffers is the number of buffers the packet used, every buffer but the last is full, and they are made used together (§5.1.6.4.1).',
    howChecked:
      '16 RX buffers of 256 bytes and one 1400-byte frame (6 buffers): num_buffers = buffers used = 6, the first 5 with len 256, used.idx moving by at least num_buffers at once, the reassembled frame intact.',
    vhostUser: HDR_VU,
    vhostNet: `${HDR_VN} vhost-net gathers the buffers itself (get_rx_bufs in handle_rx).`,
  },
  H3: {
    requirement: 'With MRG_RXBUF the device accepts receive buffers as small as the 12-byte header (derived from §5.1.6.3.1).',
    howChecked: '16 RX buffers of exactly 12 bytes and one 60-byte frame: spread over 6 buffers, num_buffers 6, frame intact.',
    vhostUser: HDR_VU,
    vhostNet: HDR_VN,
  },
  H4: {
    requirement: 'With VERSION_1 the header is 12 bytes in both directions: the frame starts at offset 12 (§5.1.6).',
    howChecked: 'A 100-byte frame after a 12-byte header on TX must arrive intact; a 100-byte injected frame must be written at offset 12 of an RX buffer.',
    vhostUser: 'The back-end reads the TX header and writes the RX header in the guest\'s buffers; both are 12 bytes once VERSION_1 is negotiated.',
    vhostNet:
      'vhost-net sizes the header from the negotiated features (12 bytes with VERSION_1 or MRG_RXBUF, vhost_net_set_features); on the tap backend TUNSETVNETHDRSZ 12 must agree.',
  },
  H5: {
    requirement: 'Without GUEST_CSUM the device MUST leave the header flags 0, and SHOULD deliver packets with a complete checksum (§5.1.6.4.1).',
    howChecked:
      'VERSION_1 only: UDP and TCP frames with full checksums and, when the wire carries offloads, a UDP frame with a partial checksum and a 1400-byte TCP GSO packet (gso_size 500) passed through the injecting interface unfinished. Non-zero flags fail; an incomplete L4 checksum warns.',
    vhostUser: HDR_VU,
    vhostNet: `${HDR_VN} The suite issues no TUNSETOFFLOAD, so the tap advertises no offloads and the stack completes checksums and segments GSO packets before they reach it.`,
  },
  H6: {
    requirement: 'gso_type is NONE unless GUEST_TSO4/TSO6/UFO (or USO) was negotiated, and RSC_INFO is set only with RSC_EXT (§5.1.6.4.1).',
    howChecked: 'The stimuli of H5 with VERSION_1 only: any gso_type other than NONE, or RSC_INFO, fails.',
    vhostUser: HDR_VU,
    vhostNet: `${HDR_VN} Without TUNSETOFFLOAD the tap receives no GSO packets.`,
  },
  H7: {
    requirement: 'A GSO packet delivered to the driver carries NEEDS_CSUM and a gso_size, and the ECN bit only with GUEST_ECN (§5.1.6.4.1).',
    howChecked:
      'Negotiates GUEST_CSUM and GUEST_TSO4 (with GUEST_TSO6 when offered) and injects the stimuli of H5; each GSO packet received must have NEEDS_CSUM, gso_size > 0 and no ECN bit. No GSO packet delivered is a skip (not exercised).',
    vhostUser: HDR_VU,
    vhostNet: NO_OFFLOAD_VN,
  },
  H8: {
    requirement: 'On RX with NEEDS_CSUM, the checksum computed from csum_start to the end and stored at csum_start + csum_offset completes the packet (§5.1.6.4.1).',
    howChecked:
      'GUEST_CSUM negotiated, the stimuli of H5; for each packet flagged NEEDS_CSUM the check computes the ones\' complement sum from csum_start, stores it at csum_start + csum_offset and expects a valid L4 checksum. None flagged is a skip (not exercised).',
    vhostUser: HDR_VU,
    vhostNet: NO_OFFLOAD_VN,
  },
  H9: {
    requirement: 'On TX the device ignores header flag bits it does not know (§5.1.6.2.2).',
    howChecked: 'A UDP frame sent with header flags 0xf8 (bits 3 to 7, undefined) must arrive byte-identical at the far end.',
    vhostUser: 'The back-end reads the header from the guest\'s TX buffer.',
    vhostNet: TX_HDR_VN,
  },
  H10: {
    requirement: 'On TX without NEEDS_CSUM the device does not use csum_start/csum_offset, and it does not rely on hdr_len (§5.1.6.2.2).',
    howChecked:
      'A UDP frame with a deliberately wrong checksum, sent with flags 0, csum_start 20, csum_offset 4 and hdr_len 9999, must arrive byte-identical (a device using csum_* would "fix" or mangle it).',
    vhostUser: 'The back-end reads the header from the guest\'s TX buffer.',
    vhostNet: TX_HDR_VN,
  },
  H11: {
    requirement: 'With CSUM negotiated, a TX packet with NEEDS_CSUM leaves the device with its checksum completed at csum_start/csum_offset (§5.1.6.2).',
    howChecked:
      'CSUM negotiated: a UDP frame holding only the pseudo-header sum, sent with NEEDS_CSUM and csum_start/csum_offset at the UDP checksum; the frame at the far end must carry a valid UDP checksum.',
    vhostUser: 'The back-end completes the checksum (or has its link do it) before the frame reaches the far end.',
    vhostNet: NO_OFFLOAD_VN,
  },
  M1: {
    requirement:
      'RX packets go only to enabled rings: with pair 1 set up but not enabled, nothing arrives on ring 2 (§5.1.6.5.6.2; vhost-user "Ring states": a started but disabled ring supplies no RX packets).',
    howChecked:
      'Two pairs set up, only rings 0 and 1 enabled; 64 RX buffers on ring 0, 16 on ring 2, 64 UDP flows (distinct source ports) injected: ring 2 must stay unused and its buffers untouched. Enabling pair 1 afterwards shows whether those flows would reach ring 2 (noted). Not run in-process: the reference device has no per-ring enable.',
    vhostUser:
      'SET_VRING_ENABLE per ring; needs VHOST_USER_F_PROTOCOL_FEATURES (bit 30), without which every ring is enabled by SET_FEATURES, and protocol feature MQ with GET_QUEUE_NUM ≥ 2 for the second pair.',
    vhostNet: 'not expressible: vhost-net has no ring enable; one fd serves one always-enabled queue pair (multiqueue is one vhost fd per pair).',
  },
  M2: {
    requirement: 'After the driver shrinks to one queue pair, the device delivers no RX on the other pair\'s ring (§5.1.6.5.6.2).',
    howChecked:
      'Both pairs enabled and 64 flows injected (ring 2\'s share noted); then rings 2 and 3 disabled, acknowledged before traffic, 16 fresh buffers posted on ring 2 and the same flows injected again: ring 2\'s used.idx must not move and the buffers stay untouched. Not run in-process.',
    vhostUser:
      'The control queue never reaches the back-end (VIRTIO_NET_CTRL_MQ is the front-end\'s), so shrinking reduces to SET_VRING_ENABLE 0 on the pair\'s rings, sent with NEED_REPLY when REPLY_ACK is negotiated; needs bit 30 and MQ.',
    vhostNet: 'not expressible: vhost-net has no ring enable; one fd serves one always-enabled queue pair.',
  },
  M3: {
    requirement: 'A started but disabled TX ring is processed and its packets discarded: buffers come back used, nothing is transmitted (vhost-user "Ring states").',
    howChecked:
      'Rings 0 to 2 enabled, ring 3 (TX of pair 1) set up and kicked but disabled; 4 TX buffers on ring 3 must all be returned within 2 s and none seen at the far end. Not run in-process.',
    vhostUser: 'The "started but disabled" state of "Ring states": started by the kick, disabled because bit 30 is negotiated and no SET_VRING_ENABLE 1 was sent for ring 3.',
    vhostNet: 'not expressible: vhost-net has no ring enable; a TX ring with a backend attached always transmits.',
  },
  A1: {
    requirement: `Descriptor loops (a driver MUST NOT create them, §2.7.5.3.1). ${SURVIVE}`,
    howChecked: `TX chains 0→1→2→0 and 5→5, RX chain 3→4→3 over 1 KiB writable buffers, 2 frames injected. ${ADVERSARIAL_CHECK}`,
    vhostUser: ADVERSARIAL_VU,
    vhostNet: `${ADVERSARIAL_VN} vhost_get_vq_desc() counts descriptors and rejects a chain with more of them than the ring holds.`,
  },
  A2: {
    requirement: `A chain longer than the queue size (forbidden by §2.7.5.3.1), here through an indirect table. ${SURVIVE}`,
    howChecked: `TX and RX indirect tables of 2 × 16 + 1 descriptors on rings of 16, 2 frames injected. ${ADVERSARIAL_CHECK}`,
    vhostUser: ADVERSARIAL_VU,
    vhostNet: ADVERSARIAL_VN,
  },
  A3: {
    requirement: `Buffer addresses outside guest memory (§2.7.5). ${SURVIVE}`,
    howChecked: `TX buffers 1 MiB past the end of the memory table, at GPA 0 and straddling the end; RX writable buffers past the end, straddling it, and at GPA 0x10; 3 frames injected. ${ADVERSARIAL_CHECK}`,
    vhostUser: `${ADVERSARIAL_VU} Descriptor addresses are guest addresses translated through the SET_MEM_TABLE regions; anything outside them must be refused.`,
    vhostNet: `${ADVERSARIAL_VN} Addresses are translated through VHOST_SET_MEM_TABLE (guest addresses to this process's own mapping); ranges outside it fail translation.`,
  },
  A4: {
    requirement: `Lengths that overflow: addr + len past 2^64, len 2^32-1, a chain longer than 2^32 bytes (§2.7.5.2). ${SURVIVE}`,
    howChecked: `TX: addr 0xfffffffffffff000 with len 0x2000; len 0xffffffff at a valid address; two descriptors of 0x80000001 bytes; RX: writable len 0xffffffff, and addr + len past 2^64; 2 frames injected. ${ADVERSARIAL_CHECK}`,
    vhostUser: ADVERSARIAL_VU,
    vhostNet: ADVERSARIAL_VN,
  },
  A5: {
    requirement: `An INDIRECT descriptor inside an indirect table (forbidden by §2.7.5.3.1). ${SURVIVE}`,
    howChecked: `TX: INDIRECT to [header, INDIRECT to [frame]]; RX: INDIRECT to [INDIRECT to [2048 writable]]; 1 frame injected; the tables themselves are watched. ${ADVERSARIAL_CHECK}`,
    vhostUser: ADVERSARIAL_VU,
    vhostNet: ADVERSARIAL_VN,
  },
  A6: {
    requirement: `Zero-length buffers (§2.7.5). ${SURVIVE}`,
    howChecked: `TX: header, a 0-byte descriptor, then the frame, and a lone 0-byte descriptor at GPA 0; RX: a 0-byte writable descriptor before 2048 writable bytes, and a lone 0-byte writable one; 2 frames injected. ${ADVERSARIAL_CHECK}`,
    vhostUser: ADVERSARIAL_VU,
    vhostNet: ADVERSARIAL_VN,
  },
  A7: {
    requirement: `avail.idx moving more than the queue size ahead of the device (forbidden by §2.7.6). ${SURVIVE}`,
    howChecked: `One valid chain published on TX and RX, then avail.idx set to 21 on rings of 16 (the other slots name descriptor 0 again); 4 frames injected. ${ADVERSARIAL_CHECK}`,
    vhostUser: ADVERSARIAL_VU,
    vhostNet: `${ADVERSARIAL_VN} vhost_get_vq_desc() rejects an avail.idx more than the ring size ahead of the last one it saw.`,
  },
};
