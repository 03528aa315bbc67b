#!/usr/bin/env bash
# Stops what setup.sh started: the project-owned node, and the machine's node
# if setup.sh had to start it.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/broker-env.sh"
"$here/project-node.sh" stop >/dev/null 2>&1 || true
if [ -f "$STATE_DIR/started-shared-node" ]; then
  rabbitmqctl stop >/dev/null 2>&1 || true
  rm -f "$STATE_DIR/started-shared-node"
fi
if [ -f "$STATE_DIR/started-postgres" ]; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main stop >/dev/null 2>&1 || true
  rm -f "$STATE_DIR/started-postgres"
fi
if [ -f "$STATE_DIR/started-mariadb" ]; then
  start-stop-daemon --stop --oknodo --retry 30 --exec /usr/sbin/mariadbd >/dev/null 2>&1 || true
  rm -f "$STATE_DIR/started-mariadb"
fi
