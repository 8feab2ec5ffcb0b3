//! The batepapo conformance suite: scripted multi-client scenarios that grade any server
//! speaking protocol chat/1, reading the raw wire rather than the shared protocol crate.
