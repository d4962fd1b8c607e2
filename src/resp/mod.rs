//! The Redis serialization protocol: request parsing (`parser`) and reply
//! encoding (`reply`), RESP2 and RESP3.

pub mod parser;
pub mod reply;
