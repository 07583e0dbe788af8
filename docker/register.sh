#!/bin/sh
# Waits for the worker's REST API, then creates the connector from config/ (POST /connectors takes
# the file as it is: {"name": ..., "config": {...}}). An existing connector (409) is left alone.
set -e
until curl -fsS http://connect:8083/connector-plugins >/dev/null; do
  echo "waiting for the Connect worker..."; sleep 2
done
status=$(curl -sS -o /tmp/response -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  --data @/config/pg-keyset-compose.json http://connect:8083/connectors)
case "$status" in
  201) echo "registered pg-keyset-compose" ;;
  409) echo "pg-keyset-compose already registered" ;;
  *) echo "registration failed ($status):"; cat /tmp/response; exit 1 ;;
esac
