# Sourced by scripts/serve and scripts/token: one development JWT secret per checkout, kept in var/
# (git-ignored), so tokens minted by scripts/token are accepted by scripts/serve.
if [ -z "${PARLEY_JWT_SECRET:-}" ]; then
  mkdir -p var
  if [ ! -s var/dev-jwt-secret ]; then
    (umask 077 && .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(48))' > var/dev-jwt-secret)
  fi
  PARLEY_JWT_SECRET=$(cat var/dev-jwt-secret)
  export PARLEY_JWT_SECRET
fi
