#!/usr/bin/env bash
# CTest's entry to contrib/run-ucx-gtest.sh (see CMakeLists.txt here):
#   ucx_gtest_test.sh SOURCE_DIR MODULE
# Skips (77) unless VESHM_UCX_GTEST=1; the run's last line is its summary.
set -euo pipefail
if [ "${VESHM_UCX_GTEST:-0}" != 1 ]; then
  echo "ucx_gtest: skipped, set VESHM_UCX_GTEST=1 to build and run UCX's gtest against veshm"
  exit 77
fi
exec bash "$1/contrib/run-ucx-gtest.sh" --module "$2"
