#!/usr/bin/env bash
# The demo recordings in assets/sessions/, from the sample performances (assets/NAME.cavperf) through the
# stream codec: the three-participant meeting, each participant alone (inputs for `cavr rec merge`), and a
# meeting with a Gaussian avatar beside mesh ones.
# Deterministic: same performances, avatars and codec give the same bytes (no wall-clock start is stored).
#   tools/make_sessions.sh [CAVR]    CAVR: the cavr binary (default: build/cavr, built when missing)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cavr=${1:-}
if [ -z "$cavr" ]; then
	cavr=$root/build/cavr
	if [ ! -x "$cavr" ]; then
		cmake -S "$root" -B "$root/build" -G Ninja
		cmake --build "$root/build" --target cavr
	fi
fi
assets=$root/assets
out=$assets/sessions
mkdir -p "$out"
people=(ana kofi ines)
perfs=()
for p in "${people[@]}"; do
	[ -f "$assets/$p.cavperf" ] || { echo "make_sessions: $assets/$p.cavperf is missing (tools/build_assets.sh)" >&2; exit 1; }
	perfs+=("$assets/$p.cavperf")
done
"$cavr" rec import "$out/demo-meeting.cavrec" "${perfs[@]}" --names "$(IFS=,; echo "${people[*]}")"
for p in "${people[@]}"; do
	"$cavr" rec import "$out/$p.cavrec" "$assets/$p.cavperf" --names "$p"
done
# A mixed meeting: kofi and ines as mesh avatars, ana as the Gaussian avatar distilled from hers (same codes).
"$cavr" rec import "$out/mixed-meeting.cavrec" "$assets/kofi.cavperf" "$assets/ines.cavperf" \
	"$assets/ana.cavperf@$assets/ana-gs.cavatar" --names kofi,ines,ana-gs
