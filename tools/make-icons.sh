#!/bin/sh
# The home-screen icons in app/static/icons/, drawn from app/static/favicon.svg with
# rsvg-convert (Debian: apt-get install librsvg2-bin). Run again after changing the favicon,
# and commit the PNGs: the app serves them as they are.
set -eu
cd "$(dirname "$0")/.."
icons=app/static/icons
mark=$(sed -e 's/^<svg[^>]*>//' -e 's/<\/svg>$//' app/static/favicon.svg)
background="#f6f4f0"  # --bg in app/static/css/duet.css

# "any": the mark on the page's background, in a rounded square, as a launcher shows it.
cat > /tmp/duet-icon.svg <<SVG
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<rect width="32" height="32" rx="6" fill="$background"/>
<g transform="translate(3.2 3.2) scale(0.8)">$mark</g></svg>
SVG
# "maskable": the same on a full square, the mark inside the central 80 % safe zone.
cat > /tmp/duet-maskable.svg <<SVG
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<rect width="32" height="32" fill="$background"/>
<g transform="translate(6.4 6.4) scale(0.6)">$mark</g></svg>
SVG
rsvg-convert -w 192 -h 192 /tmp/duet-icon.svg -o "$icons/icon-192.png"
rsvg-convert -w 512 -h 512 /tmp/duet-icon.svg -o "$icons/icon-512.png"
rsvg-convert -w 512 -h 512 /tmp/duet-maskable.svg -o "$icons/maskable-512.png"
# iOS rounds the corners itself and shows transparency as black: a full square.
rsvg-convert -w 180 -h 180 /tmp/duet-maskable.svg -o "$icons/apple-touch-icon-180.png"
rm /tmp/duet-icon.svg /tmp/duet-maskable.svg
