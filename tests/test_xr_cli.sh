#!/usr/bin/env bash
# The `cavr` command in a headset, on the simulated OpenXR runtime:
# 1. the runtime goes away (instance loss) during `cavr play --xr`: cavr makes everything again and plays on;
# 2. a headset user joining a live meeting as a participant: `cavr join --xr --send-as` (scripted head and
#    hands, tests/xr/meeting.simxr) sends the viewer to a second `cavr join`, which records what it receives;
#    the recording must hold the viewer's stream, and play back.
set -u
cavr=$1
src=$2
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
printf 'at 0\nhead 0 1.2 0 ypr 0 -4 0\nat 1.0\nevent instance_loss\n' >"$work/loss.simxr"
out=$(CAVR_SIMXR_SCRIPT="$work/loss.simxr" CAVR_SIMXR_RESOLUTION=64x64 CAVR_SIMXR_REFRESH_HZ=30 \
	"$cavr" play --xr --frames 45 --start 3 2>&1)
rc=$?
echo "$out" | grep -v '^\['
[ $rc -eq 0 ] || { echo "FAIL: cavr play --xr exited with $rc after the instance loss"; exit 1; }
[ "$(echo "$out" | grep -c 'starting again (1 of 3)')" -eq 1 ] || { echo "FAIL: no restart after the instance loss"; exit 1; }
second=$(echo "$out" | grep 'cavr: playing' | sed -n 2p)
[[ $second == *"from "* && $second != *"from 3.0"* ]] || { echo "FAIL: the meeting did not go on from where it was"; exit 1; }
echo "ok: instance loss survived"

head -c 32 /dev/urandom | base64 >"$work/secret"
# The receiver takes a free port and says which, and records until told to stop (600 s is only a safety net).
"$cavr" join --meeting t --secret-file "$work/secret" --listen 127.0.0.1:0 --no-render --seconds 600 \
	--record "$work/viewer.cavrec" >"$work/receiver.log" 2>&1 &
receiver=$!
port=
for _ in $(seq 100); do
	port=$(sed -n "s/.*meeting 't' on 127\.0\.0\.1:\([0-9]*\).*/\1/p" "$work/receiver.log")
	[ -n "$port" ] && break
	sleep 0.05
done
[ -n "$port" ] || { echo "FAIL: the receiver did not start"; cat "$work/receiver.log"; exit 1; }
CAVR_SIMXR_SCRIPT="$src/tests/xr/meeting.simxr" CAVR_SIMXR_RESOLUTION=96x96 CAVR_SIMXR_REFRESH_HZ=30 \
	"$cavr" join --meeting t --secret-file "$work/secret" --listen 127.0.0.1:0 --xr --frames 150 \
	--send-as 7 --avatar "$src/assets/ines.cavatar" --name viewer --peer "127.0.0.1:$port" >"$work/viewer.log" 2>&1
rc=$?
kill -INT $receiver 2>/dev/null
wait $receiver
cat "$work/viewer.log" | tail -3
cat "$work/receiver.log" | tail -3
[ $rc -eq 0 ] || { echo "FAIL: the XR viewer exited with $rc"; exit 1; }
grep -q "sent the viewer as participant 7" "$work/viewer.log" || { echo "FAIL: nothing sent"; exit 1; }
out=$("$cavr" rec inspect "$work/viewer.cavrec")
echo "$out" | sed -n 1,12p
packets=$(echo "$out" | sed -n 's/^packets: \([0-9]*\).*/\1/p')
[ "${packets:-0}" -ge 20 ] || { echo "FAIL: $packets packets from the viewer (wanted >= 20)"; exit 1; }
echo "$out" | grep -qE '^ +7 +viewer' || { echo "FAIL: participant 7 'viewer' is not in the recording"; exit 1; }
# The viewer's stream plays back: head and hands on the sample avatar.
"$cavr" play "$work/viewer.cavrec" --headless --frames 1 --start 0.5 --size 64x36 --output "$work/v.png" >/dev/null 2>&1 ||
	{ echo "FAIL: the recorded viewer does not play"; exit 1; }
echo "ok: $packets packets of the viewer recorded"
