# Names and places shared by the broker scripts; sourced, not run.
STATE_DIR=/var/tmp/nestjs-messaging-brokers
PROJECT_NODE_DIR=$STATE_DIR/project-node
PROJECT_NODE=nestjs-messaging@localhost
PROJECT_PLAIN_PORT=5682
PROJECT_TLS_PORT=5681
PROJECT_DIST_PORT=25682
BROKERS_JSON=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.test-brokers/brokers.json
POSTGRES_DB=nestjs_messaging_test
POSTGRES_URL=postgres://postgres@127.0.0.1:5432/$POSTGRES_DB
MYSQL_DB=nestjs_messaging_test
MYSQL_URL=mysql://root@127.0.0.1:3306/$MYSQL_DB
