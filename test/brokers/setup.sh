#!/usr/bin/env bash
# Makes sure the brokers the test suite needs are reachable, and writes what
# the tests need to know to .test-brokers/brokers.json:
#  - the machine's shared RabbitMQ node on 127.0.0.1:5672 (installed from
#    Debian's rabbitmq-server and started when there is none), with its
#    AMQP 1.0 plugin enabled. Tests never stop it.
#  - a second, project-owned node (plain 127.0.0.1:5682, TLS 127.0.0.1:5681
#    requiring client certificates from a CA generated here), which outage
#    and restart tests stop and start. Its TLS listener accepts SASL EXTERNAL
#    (rabbitmq_auth_mechanism_ssl: the client certificate's CN is the user,
#    as on Fedora's broker) beside PLAIN, and a user named after the client
#    certificate's CN (pdc-client, no password) may use the default vhost.
#  - the machine's PostgreSQL on 127.0.0.1:5432 (started, or installed from
#    Debian's postgresql, when there is none), with a database of the tests' own.
#  - the machine's MariaDB on 127.0.0.1:3306 (root, empty password; started,
#    or installed from Debian's mariadb-server, when there is none), with a
#    database of the tests' own.
# Safe to run twice: a project node left from an earlier run is stopped and
# started afresh. teardown.sh stops what this script started.
# --shared-only: just the shared node (what the benchmarks need).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/broker-env.sh"

log() { echo "[brokers] $*"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  local port=$1 seconds=$2
  for ((i = 0; i < seconds * 10; i++)); do
    port_open "$port" && return 0
    sleep 0.1
  done
  echo "[brokers] nothing listens on 127.0.0.1:$port after ${seconds}s" >&2
  return 1
}

ensure_rabbitmq_installed() {
  command -v rabbitmq-server >/dev/null && return
  log "installing rabbitmq-server from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
}

ensure_shared_node() {
  mkdir -p "$STATE_DIR"
  if ! port_open 5672; then
    log "no broker on 127.0.0.1:5672: starting the machine's RabbitMQ node"
    rabbitmq-plugins enable --offline rabbitmq_amqp1_0 >/dev/null
    rabbitmq-server -detached
    wait_port 5672 90
    touch "$STATE_DIR/started-shared-node"
  fi
  # Online enable; harmless when already enabled.
  rabbitmq-plugins enable rabbitmq_amqp1_0 >/dev/null
}

ensure_postgres() {
  if ! port_open 5432; then
    if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
      log "installing postgresql from Debian"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi
    log "no PostgreSQL on 127.0.0.1:5432: starting the machine's cluster"
    local version
    version=$(ls /etc/postgresql | head -n1)
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
    wait_port 5432 60
    touch "$STATE_DIR/started-postgres"
  fi
  # Trust auth on this machine kind; as root, peer auth would also do via su.
  if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$POSTGRES_DB'" | grep -q 1; then
    psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE $POSTGRES_DB" >/dev/null
  fi
}

ensure_mariadb() {
  if ! port_open 3306; then
    if [ ! -x /usr/sbin/mariadbd ]; then
      log "installing mariadb-server from Debian"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server >/dev/null
    fi
    log "no MariaDB on 127.0.0.1:3306: starting the machine's server"
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    wait_port 3306 60
    touch "$STATE_DIR/started-mariadb"
  fi
  # Root connects over TCP without a password on this machine kind (as over the socket).
  mariadb -h 127.0.0.1 -u root -e "CREATE DATABASE IF NOT EXISTS $MYSQL_DB"
}

generate_pki() {
  local pki=$1
  mkdir -p "$pki"
  (
    cd "$pki"
    ca() { openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.crt" -days 30 -subj "/CN=$2" 2>/dev/null; }
    issue() {
      openssl req -newkey rsa:2048 -nodes -keyout "$2.key" -out "$2.csr" -subj "/CN=$3" 2>/dev/null
      # Only the name localhost: amqps://127.0.0.1 is then a host-name mismatch the tests can use.
      printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=%s\n' "$4" > "$2.ext"
      openssl x509 -req -in "$2.csr" -CA "$1.crt" -CAkey "$1.key" -CAcreateserial -days 30 -sha256 \
        -extfile "$2.ext" -out "$2.crt" 2>/dev/null
    }
    ca ca 'nestjs-messaging test broker CA'
    issue ca server localhost serverAuth
    issue ca client pdc-client clientAuth
    # The seed's CERTIFICATE form: one PEM file with the certificate and its key.
    cat client.crt client.key > client-combined.pem
    ca other-ca 'unrelated CA'
  )
}

start_project_node() {
  "$here/project-node.sh" stop >/dev/null 2>&1 || true
  rm -rf "$PROJECT_NODE_DIR"
  mkdir -p "$PROJECT_NODE_DIR"/{mnesia,log}
  generate_pki "$PROJECT_NODE_DIR/pki"
  cat > "$PROJECT_NODE_DIR/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$PROJECT_PLAIN_PORT
listeners.ssl.default = 127.0.0.1:$PROJECT_TLS_PORT
ssl_options.cacertfile = $PROJECT_NODE_DIR/pki/ca.crt
ssl_options.certfile = $PROJECT_NODE_DIR/pki/server.crt
ssl_options.keyfile = $PROJECT_NODE_DIR/pki/server.key
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = true
auth_mechanisms.1 = PLAIN
auth_mechanisms.2 = AMQPLAIN
auth_mechanisms.3 = EXTERNAL
ssl_cert_login_from = common_name
CONF
  echo '[rabbitmq_amqp1_0,rabbitmq_auth_mechanism_ssl].' > "$PROJECT_NODE_DIR/enabled_plugins"
  chown -R rabbitmq:rabbitmq "$PROJECT_NODE_DIR"
  chmod -R go+rX "$PROJECT_NODE_DIR/pki"
  "$here/project-node.sh" start
  add_certificate_user pdc-client
}

# The user SASL EXTERNAL logs in as: the client certificate's CN. Its
# password is cleared, so only the certificate can authenticate it.
add_certificate_user() {
  "$here/project-node.sh" ctl add_user "$1" "unused-$RANDOM$RANDOM" >/dev/null
  "$here/project-node.sh" ctl clear_password "$1" >/dev/null
  "$here/project-node.sh" ctl set_permissions -p / "$1" '.*' '.*' '.*' >/dev/null
}

write_brokers_json() {
  local pki=$PROJECT_NODE_DIR/pki
  mkdir -p "$(dirname "$BROKERS_JSON")"
  cat > "$BROKERS_JSON" <<JSON
{
  "shared": { "url": "amqp://127.0.0.1:5672", "username": "guest", "password": "guest" },
  "postgres": { "url": "$POSTGRES_URL" },
  "mysql": { "url": "$MYSQL_URL" },
  "project": {
    "url": "amqp://127.0.0.1:$PROJECT_PLAIN_PORT",
    "tlsUrl": "amqps://localhost:$PROJECT_TLS_PORT",
    "username": "guest",
    "password": "guest",
    "control": "$here/project-node.sh",
    "pki": {
      "ca": "$pki/ca.crt",
      "clientCertificate": "$pki/client.crt",
      "clientKey": "$pki/client.key",
      "clientCombined": "$pki/client-combined.pem",
      "otherCa": "$pki/other-ca.crt"
    }
  }
}
JSON
}

ensure_rabbitmq_installed
ensure_shared_node
ensure_postgres
ensure_mariadb
if [ "${1:-}" = "--shared-only" ]; then
  log "shared node amqp://127.0.0.1:5672 (AMQP 1.0 enabled), PostgreSQL $POSTGRES_URL, MariaDB $MYSQL_URL"
  exit 0
fi
start_project_node
write_brokers_json
log "PostgreSQL $POSTGRES_URL, MariaDB $MYSQL_URL, shared node amqp://127.0.0.1:5672, project node amqp://127.0.0.1:$PROJECT_PLAIN_PORT and amqps://localhost:$PROJECT_TLS_PORT"
