# Sourced by test.sh and demo.sh: makes pnpm available (Node 20 + npm are all a fresh machine has)
# and installs the workspace.
PNPM_VERSION=12.4.2
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  export npm_config_prefix="${npm_config_prefix:-$PWD/.tools}"
  npm install -g --silent "pnpm@$PNPM_VERSION" >/dev/null
  export PATH="$npm_config_prefix/bin:$PATH"
fi
pnpm install --frozen-lockfile
