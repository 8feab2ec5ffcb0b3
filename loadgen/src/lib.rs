//! The batepapo load generator: many bots measuring broadcast latency against a chat server.
