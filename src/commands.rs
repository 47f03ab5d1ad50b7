//! The command-line tools behind `main.rs`: each takes a loaded config and returns the exit
//! code, printing its own output.

pub mod check;
pub mod demo;
pub mod init;
pub mod preview;
pub mod run;
pub mod send_test;
pub mod sim;
pub mod status;
