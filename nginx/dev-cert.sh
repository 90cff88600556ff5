#!/usr/bin/env bash
# A self-signed certificate for trying the stack on one machine (not for production).
set -euo pipefail
out="${1:-$(dirname "$0")/certs}"
mkdir -p "$out"
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$out/key.pem" -out "$out/cert.pem" 2>/dev/null
echo "Wrote $out/cert.pem and $out/key.pem"
