#!/bin/sh
# vnetbench guest agent: serves framed requests on the virtio-serial port named vnb.agent.
# Wire format: harness/guest/protocol.ts. Each request runs in its own subshell, so a long
# command never blocks a /proc read; replies go out whole under a mkdir lock.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu
W=/run/vnb
mkdir -p $W

dev=
tries=0
while [ -z "$dev" ] && [ $tries -lt 500 ]; do
  for p in /sys/class/virtio-ports/*; do
    [ "$(cat "$p/name" 2>/dev/null)" = vnb.agent ] && dev=/dev/${p##*/}
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
grep -q vnb.debug /proc/cmdline && cat $W/boot-trace >/dev/console

enc() { # a string as one field
  if [ -z "$1" ]; then printf -; else printf %s "$1" | base64 -w 0; fi
}
encf() { # a file's contents as one field
  if [ -s "$1" ]; then base64 -w 0 "$1"; else printf -; fi
}
dec() { # one field back to a string; the trailing dot keeps trailing newlines through $( )
  if [ "$1" != - ]; then printf %s "$1" | base64 -d; fi
  printf .
}
send() { # write a finished reply file to the port in one piece
  until mkdir $W/lock 2>/dev/null; do usleep 1000; done
  cat "$1" >&3
  rmdir $W/lock
  rm -f "$1"
}
reply() { # id code stdout-file stderr-file
  { printf 'VNB1 R %s %s ' "$1" "$2"; encf "$3"; printf ' '; encf "$4"; printf ' END\n'; } >$W/$1.reply
  send $W/$1.reply
}

do_exec() {
  id=$1; shift; n=$#
  for e; do v=$(dec "$e"); set -- "$@" "${v%.}"; done
  shift $n
  "$@" </dev/null >$W/$id.out 2>$W/$id.err &
  echo $! >$W/$id.pid
  wait $!
  code=$?
  reply "$id" $code $W/$id.out $W/$id.err
  rm -f $W/$id.out $W/$id.err $W/$id.pid
}

do_spawn() { # output goes to /run/vnb/p<pid>.out and .err
  id=$1; shift; n=$#
  for e; do v=$(dec "$e"); set -- "$@" "${v%.}"; done
  shift $n
  setsid sh -c 'exec "$@" </dev/null >/run/vnb/p$$.out 2>/run/vnb/p$$.err' vnb-spawn "$@" &
  echo $! >$W/$id.out
  reply "$id" 0 $W/$id.out /dev/null
  rm -f $W/$id.out
}

do_read() {
  id=$1
  v=$(dec "$2"); f=${v%.}
  base64 -w 0 "$f" >$W/$id.b64 2>$W/$id.err
  code=$?
  # The file's base64 is the field itself; an empty file is "-".
  [ -s $W/$id.b64 ] || printf - >$W/$id.b64
  { printf 'VNB1 R %s %s ' "$id" $code; cat $W/$id.b64; printf ' '; encf $W/$id.err; printf ' END\n'; } >$W/$id.reply
  send $W/$id.reply
  rm -f $W/$id.b64 $W/$id.err
}

do_cancel() {
  id=$1
  v=$(dec "$2"); target=${v%.}
  pid=$(cat "$W/$target.pid" 2>/dev/null)
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  reply "$id" 0 /dev/null /dev/null
}

read -r st nic cidr <$W/status 2>/dev/null
if [ "$st" = READY ]; then
  read -r up _ </proc/uptime
  printf 'VNB1 READY %s %s %s END\n' "$(enc "$nic")" "$(enc "$cidr")" "$(enc "$up")" >&3
else
  msg=$(cat $W/status 2>/dev/null)
  [ -n "$msg" ] || msg="bring-up (/etc/vnb/rc) left no status; see the console log"
  printf 'VNB1 FAIL %s END\n' "$(enc "${msg#FAIL }")" >&3
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
    # ( ... & ): the handler is orphaned at once and busybox init (pid 1) reaps it, so the
    # agent never accumulates zombies; the outer subshell is waited for here.
    case "$op" in
    exec) (do_exec "$id" $args &) ;;
    spawn) (do_spawn "$id" $args &) ;;
    read) (do_read "$id" $args &) ;;
    cancel) (do_cancel "$id" $args &) ;;
    ping) (reply "$id" 0 /dev/null /dev/null &) ;;
    esac
  done
}
# A read returns end-of-file while no host end is connected; wait for it to come back.
while :; do
  serve
  usleep 100000
done
