//! Lua scripting (EVAL, EVALSHA, SCRIPT, FUNCTION): the interpreter, its
//! sandbox and the bridge from scripts to commands.

pub mod libs;
