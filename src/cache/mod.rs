//! The layer-cache analyzer: an incremental, pure parser of `docker build` output (BuildKit
//! plain progress and the legacy builder) that reports cache hits per docker build.
