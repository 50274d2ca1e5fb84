#!/usr/bin/env bash
# The cavr command as a user meets it: help, bad arguments, headless output, a window that cannot open.
set -u
cavr=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

expect() { # expect NAME EXIT_CODE PATTERN -- COMMAND...
	local name=$1 code=$2 pattern=$3
	shift 4
	local out rc
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -eq "$code" ] && grep -qE -- "$pattern" <<<"$out"; then
		passed=$((passed + 1))
		echo "ok   $name"
	else
		failed=$((failed + 1))
		echo "FAIL $name: exit $rc (wanted $code), output:"
		echo "$out" | sed 's/^/     /'
	fi
}

expect help 0 'usage: cavr' -- "$cavr" --help
expect version 0 '^cavr [0-9]+\.[0-9]+' -- "$cavr" --version
expect unknown-option 2 "unknown option '--bogus'" -- "$cavr" --bogus
expect unknown-command 2 "unknown command 'fly'" -- "$cavr" fly
expect bad-frames 2 '--frames needs a positive count' -- "$cavr" --frames -3
expect bad-size 2 '--size needs WxH' -- "$cavr" --size 640
expect missing-value 2 'needs a value' -- "$cavr" --output
expect both-modes 2 'exclude each other' -- "$cavr" --window --headless
expect devices 0 'llvmpipe|GPU' -- "$cavr" devices
expect no-device 1 "no Vulkan device matches 'no such GPU'" -- "$cavr" --headless --device 'no such GPU'
expect headless 0 'wrote 2 frames' -- "$cavr" --headless --frames 2 --size 96x64 --output "$work/f_%u.png"
[ -s "$work/f_0.png" ] && [ -s "$work/f_1.png" ] && passed=$((passed + 1)) && echo "ok   headless-files" ||
	{ failed=$((failed + 1)); echo "FAIL headless-files: PNGs missing"; }
expect unwritable-output 1 'cannot create|cannot write' -- "$cavr" --headless --frames 1 --size 32x32 --output /nonexistent/dir/x.png
expect view-no-file 2 'view needs an avatar file' -- "$cavr" view
expect view-missing 1 "cannot open '/nonexistent/a.cavatar'" -- "$cavr" view /nonexistent/a.cavatar --headless
printf 'not a safetensors file' >"$work/bad.cavatar"
expect view-garbage 1 'bad.cavatar' -- "$cavr" view "$work/bad.cavatar" --headless
expect stereo 0 'wrote 1 frames' -- "$cavr" --stereo --frames 1 --size 64x48 --output "$work/s.png"
expect stereo-window 2 'renders headless' -- "$cavr" --stereo --window
expect no-xr-runtime 1 'no OpenXR runtime is active' -- env XR_RUNTIME_JSON=/nonexistent/runtime.json "$cavr" --xr --frames 1
expect xr-and-window 2 'exclude each other' -- "$cavr" --xr --window
expect no-display 1 'cannot open a window' -- env DISPLAY=:4321 "$cavr" --window --frames 1

# cavr play: the demo meeting headless (PNG frames with a progress bar, an MP4 through ffmpeg), and its errors.
expect play-png 0 'wrote 2 frames' -- "$cavr" play --headless --frames 2 --size 96x54 --start 3 --output "$work/p_%u.png"
[ -s "$work/p_1.png" ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL play-png: no second frame"; }
expect play-progress 0 '100% frame 2/2' -- "$cavr" play --headless --frames 2 --size 96x54 --output "$work/q_%u.png"
expect play-mp4 0 'wrote 3 frames' -- "$cavr" play --headless --frames 3 --size 96x54 --output "$work/m.mp4"
if command -v ffprobe >/dev/null; then
	expect play-mp4-frames 0 '^3$' -- ffprobe -v error -count_frames -select_streams v:0 \
		-show_entries stream=nb_read_frames -of csv=p=0 "$work/m.mp4"
fi
expect play-missing 1 "cannot open|No such file" -- "$cavr" play /nonexistent/meeting.cavrec --headless
head -c 3000 /dev/urandom >"$work/bad.cavrec"
expect play-garbage 1 'bad.cavrec' -- "$cavr" play "$work/bad.cavrec" --headless
expect play-past-end 1 'past the end' -- "$cavr" play --headless --start 999
expect play-bad-speed 2 '--speed needs' -- "$cavr" play --speed 0
expect play-two-files 2 "unexpected argument" -- "$cavr" render extra.cavrec

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
