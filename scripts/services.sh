#!/usr/bin/env bash
# Start RabbitMQ, PostgreSQL and Redis on this machine if they are not answering yet.
# The URLs in MTI_* variables may point elsewhere; then there is nothing to start here.
set -euo pipefail

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {  # name port seconds
  for _ in $(seq "$3"); do listening "$2" && return 0; sleep 1; done
  echo "services: $1 did not come up on port $2" >&2
  return 1
}

if ! listening 5672; then
  echo "services: starting RabbitMQ"
  rabbitmq-server -detached
  wait_for RabbitMQ 5672 90
  rabbitmqctl await_startup >/dev/null 2>&1 || true
fi

if ! listening 5432; then
  echo "services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
  wait_for PostgreSQL 5432 60
fi

if ! listening 6379; then
  echo "services: starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  wait_for Redis 6379 30
fi

echo "services: RabbitMQ :5672, PostgreSQL :5432, Redis :6379 are up"
