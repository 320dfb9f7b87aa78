#!/bin/sh
# Prints a greeting; the build copies its output into dist/.
echo "${GREETING:-hello}, build ${CODEBUILD_BUILD_NUMBER:-?}"
