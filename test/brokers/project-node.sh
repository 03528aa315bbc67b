#!/usr/bin/env bash
# Starts or stops the project-owned RabbitMQ node set up by setup.sh.
# Usage: project-node.sh start|stop|status|eval <erlang expression>|ctl <rabbitmqctl arguments...>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/broker-env.sh"

as_rabbitmq() {
  runuser -u rabbitmq -- env HOME=/var/lib/rabbitmq \
    RABBITMQ_NODENAME="$PROJECT_NODE" \
    RABBITMQ_NODE_PORT="$PROJECT_PLAIN_PORT" \
    RABBITMQ_DIST_PORT="$PROJECT_DIST_PORT" \
    RABBITMQ_CONFIG_FILE="$PROJECT_NODE_DIR/rabbitmq.conf" \
    RABBITMQ_MNESIA_BASE="$PROJECT_NODE_DIR/mnesia" \
    RABBITMQ_LOG_BASE="$PROJECT_NODE_DIR/log" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$PROJECT_NODE_DIR/enabled_plugins" \
    RABBITMQ_PID_FILE="$PROJECT_NODE_DIR/node.pid" \
    "$@"
}

case "${1:-}" in
  start)
    # Already running: nothing to do. A second rabbitmq-server would fail, and delete the pid file on its way out.
    # Its Erlang VM may be up with the rabbit app stopped (a run killed while the node was being
    # stopped or started): start the app then, or every command after this one fails.
    if as_rabbitmq timeout 20 /usr/lib/rabbitmq/bin/rabbitmqctl -n "$PROJECT_NODE" -q ping >/dev/null 2>&1; then
      if ! as_rabbitmq timeout 20 /usr/lib/rabbitmq/bin/rabbitmqctl -n "$PROJECT_NODE" -q await_startup --timeout 5 >/dev/null 2>&1; then
        as_rabbitmq timeout 100 /usr/lib/rabbitmq/bin/rabbitmqctl -n "$PROJECT_NODE" -q start_app >/dev/null
      fi
      exit 0
    fi
    as_rabbitmq /usr/lib/rabbitmq/bin/rabbitmq-server -detached
    for ((i = 0; i < 100; i++)); do [ -s "$PROJECT_NODE_DIR/node.pid" ] && break; sleep 0.1; done
    as_rabbitmq timeout 100 /usr/lib/rabbitmq/bin/rabbitmqctl -n "$PROJECT_NODE" wait --timeout 90 "$PROJECT_NODE_DIR/node.pid" >/dev/null
    ;;
  stop)
    # Only a running node is stopped: rabbitmqctl waits forever on the pid file of one that is not.
    pid=$(cat "$PROJECT_NODE_DIR/node.pid" 2>/dev/null ||
      as_rabbitmq timeout 20 /usr/lib/rabbitmq/bin/rabbitmqctl -n "$PROJECT_NODE" -q eval 'list_to_integer(os:getpid()).' 2>/dev/null ||
      true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      as_rabbitmq timeout 60 /usr/lib/rabbitmq/bin/rabbitmqctl -n "$PROJECT_NODE" stop >/dev/null || kill "$pid"
      for ((i = 0; i < 300; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    ;;
  eval)
    # Changes the running node's settings (max_message_size, say) for one test.
    as_rabbitmq /usr/lib/rabbitmq/bin/rabbitmqctl -n "$PROJECT_NODE" eval "$2"
    ;;
  ctl)
    # Any rabbitmqctl command against this node (add_user, set_topic_permissions, ...).
    shift
    as_rabbitmq /usr/lib/rabbitmq/bin/rabbitmqctl -n "$PROJECT_NODE" -q "$@"
    ;;
  status)
    as_rabbitmq /usr/lib/rabbitmq/bin/rabbitmqctl -n "$PROJECT_NODE" status >/dev/null
    ;;
  *)
    echo "usage: $0 start|stop|status|eval <expression>|ctl <arguments...>" >&2
    exit 2
    ;;
esac
