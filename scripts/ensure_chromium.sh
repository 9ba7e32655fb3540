#!/usr/bin/env bash
# The browser tests drive Debian's chromium with its matching chromedriver (no browser
# download). Install them when missing and we may; otherwise those tests are skipped
# (and fail under CRM_REQUIRE_BROWSER=1, as in CI).
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Debian's chromium and chromium-driver for the browser tests..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
else
  echo "Note: chromium/chromedriver not found and cannot be installed here: browser tests will be skipped."
fi
exit 0
