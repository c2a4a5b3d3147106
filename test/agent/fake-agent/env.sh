#!/usr/bin/env bash
# Fake agent env.sh for test/agent/start.test.ts; the real one snapshots a few variables into .env.
