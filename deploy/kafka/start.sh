#!/usr/bin/env bash
# Compose only: starts the single-node KRaft broker with the image's own launcher, creates the
# worker's topics (the worker does not create them), then writes the marker the healthcheck waits for.
set -u
ready=/tmp/micromoments-topics.ready
rm -f "$ready"

/etc/kafka/docker/run &
broker=$!
trap 'kill -TERM "$broker" 2>/dev/null; wait "$broker"; exit $?' TERM INT

topics=/opt/kafka/bin/kafka-topics.sh
until "$topics" --bootstrap-server localhost:9092 --list >/dev/null 2>&1; do
  kill -0 "$broker" 2>/dev/null || { wait "$broker"; exit $?; }
  sleep 2
done

partitions="${MM_TOPIC_PARTITIONS:-12}"
for topic in ${MM_TOPICS:-clickstream micromoments.interventions micromoments.deadletter micromoments.decisions}; do
  "$topics" --bootstrap-server localhost:9092 --create --if-not-exists \
    --topic "$topic" --partitions "$partitions" --replication-factor 1 || exit 1
done
touch "$ready"
echo "micromoments: topics ready"

wait "$broker"
