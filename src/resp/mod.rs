//! The Redis serialization protocol: request parsing (`parser`), a
//! look-ahead over pipelined requests (`peek`) and reply encoding
//! (`reply`), RESP2 and RESP3.

pub mod parser;
pub mod peek;
pub mod reply;
