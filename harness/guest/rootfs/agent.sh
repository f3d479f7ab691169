#!/bin/sh
# vnetbench guest agent: serves framed requests on the virtio-serial port named vnb.agent.
# Wire format: harness/guest/protocol.ts. Requests arrive with shell-escaped fields ($'..'), so
# decoding is the shell's own `eval`; replies leave as base64. Each request runs in its own
# background subshell (a long command never blocks a /proc read) and each reply is written as
# one line under a token lock.
#
# Under TCG every fork and exec costs milliseconds of emulated CPU, and the guest's CPU is what
# the benchmark measures, so this script avoids them: builtins wherever possible, one base64 per
# non-empty field, no temporary files for reads.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu
W=/run/vnb
mkdir -p $W

dev=
tries=0
while [ -z "$dev" ] && [ $tries -lt 500 ]; do
  for p in /sys/class/virtio-ports/*; do
    name=
    read -r name <"$p/name" 2>/dev/null
    [ "$name" = vnb.agent ] && dev=/dev/${p##*/}
  done
  [ -n "$dev" ] && [ -c "$dev" ] || { dev=; usleep 10000; tries=$((tries + 1)); }
done
if [ -z "$dev" ]; then
  echo "vnetbench agent: no virtio-serial port named vnb.agent after 5 s" >&2
  exit 1
fi
exec 3<>"$dev"
read -r up _ </proc/uptime
echo "$up agent port $dev" >>$W/boot-trace
read -r cmdline </proc/cmdline
case " $cmdline " in *" vnb.debug "*) cat $W/boot-trace >/dev/console ;; esac

# The lock is one token byte in a FIFO: take it with read (blocks while another writer holds
# it), give it back with printf. Both are builtins: no fork, no polling.
mkfifo $W/lock
exec 4<>$W/lock
printf x >&4

send() { # one whole line to the host
  read -r -n 1 _tok <&4
  printf '%s\n' "$1" >&3
  printf x >&4
}
enc() { # a short string as one field
  if [ -z "$1" ]; then printf -; else printf %s "$1" | base64 -w 0; fi
}
encf() { # a file's contents as one field
  if [ -s "$1" ]; then base64 -w 0 "$1"; else printf -; fi
}

do_exec() { # id, then argv
  id=$1
  shift
  "$@" </dev/null >$W/$id.out 2>$W/$id.err &
  echo $! >$W/$id.pid
  wait $!
  code=$?
  o=-
  e=-
  [ -s $W/$id.out ] && o=$(base64 -w 0 $W/$id.out)
  [ -s $W/$id.err ] && e=$(base64 -w 0 $W/$id.err)
  send "VNB1 R $id $code $o $e END"
  rm -f $W/$id.out $W/$id.err $W/$id.pid
}

do_spawn() { # id, then argv; output goes to /run/vnb/p<pid>.out and .err
  id=$1
  shift
  setsid sh -c 'exec "$@" </dev/null >/run/vnb/p$$.out 2>/run/vnb/p$$.err' vnb-spawn "$@" &
  send "VNB1 R $id 0 $(enc "$!
") - END"
}

do_read() { # id path
  if d=$(base64 -w 0 "$2" 2>/dev/null); then
    send "VNB1 R $1 0 ${d:--} - END"
  else
    send "VNB1 R $1 1 - $(enc "cannot read $2
") END"
  fi
}

do_cancel() { # id target-id
  read -r pid <$W/$2.pid 2>/dev/null && kill "$pid" 2>/dev/null
  send "VNB1 R $1 0 - - END"
}

read -r st nic cidr <$W/status 2>/dev/null
if [ "$st" = READY ]; then
  read -r up _ </proc/uptime
  send "VNB1 READY $(enc "$nic") $(enc "$cidr") $(enc "$up") END"
else
  msg=$(cat $W/status 2>/dev/null)
  [ -n "$msg" ] || msg="bring-up (/etc/vnb/rc) left no status; see the console log"
  send "VNB1 FAIL $(enc "${msg#FAIL }") END"
fi

serve() {
  while read -r magic id op rest <&3; do
    [ "$magic" = VNB1 ] || continue
    case "$id" in '' | *[!0-9]*) continue ;; esac
    case "$rest" in
    END) args= ;;
    *' END') args=${rest% END} ;;
    *) continue ;;
    esac
    # Fields are $'...' words with every unsafe byte as \xHH (protocol.ts), so eval only
    # decodes; the subshell keeps a malformed line from taking the agent down.
    case "$op" in
    exec) (eval "set -- $args" && do_exec "$id" "$@") & ;;
    spawn) (eval "set -- $args" && do_spawn "$id" "$@") & ;;
    read) (eval "set -- $args" && do_read "$id" "$1") & ;;
    cancel) (eval "set -- $args" && do_cancel "$id" "$1") & ;;
    ping) send "VNB1 R $id 0 - - END" & ;;
    esac
  done
}
# A read returns end-of-file while no host end is connected; wait for it to come back.
while :; do
  serve
  usleep 100000
done
