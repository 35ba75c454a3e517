# Headless Chromium and its WebDriver (Debian's chromium and chromium-driver),
# for the demo's browser end-to-end test. Nothing is started here: the test
# starts chromedriver on a free loopback port itself.
service_chromium_up() {
  cc_need_pkg chromium chromium-driver || return 1
  local f
  for f in /usr/bin/chromium /usr/bin/chromedriver; do
    if [ ! -x "$f" ]; then
      cc_log "chromium: $f is missing after installing chromium chromium-driver"
      return 1
    fi
  done
  export COATCHECK_CHROMEDRIVER=/usr/bin/chromedriver
  export COATCHECK_CHROMIUM=/usr/bin/chromium
}
