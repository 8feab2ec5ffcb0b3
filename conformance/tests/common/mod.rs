//! Servers shared by the grader's tests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// A chat/1 server with the classic bug: a public message goes to everyone, its sender too.
pub fn echoing_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let users: Arc<Mutex<Vec<(String, TcpStream)>>> = Arc::default();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let users = users.clone();
            std::thread::spawn(move || {
                let peer = stream.peer_addr().unwrap();
                let mut out = stream.try_clone().unwrap();
                let _ = out.write_all(b"HELLO chat/1 echo\n");
                let mut lines = BufReader::new(stream).lines();
                let Some(Ok(name)) = lines.next() else { return };
                {
                    let mut all = users.lock().unwrap();
                    let _ = out.write_all(format!("WELCOME {name} {peer}\n").as_bytes());
                    let mut names: Vec<String> = all.iter().map(|u| u.0.clone()).collect();
                    names.push(name.clone());
                    let _ = out.write_all(format!("USERS {}\n", names.join(" ")).as_bytes());
                    for (_, s) in all.iter_mut() {
                        let _ = s.write_all(format!("JOIN {name} {peer}\n").as_bytes());
                    }
                    all.push((name.clone(), out.try_clone().unwrap()));
                }
                for line in lines.map_while(Result::ok) {
                    let mut all = users.lock().unwrap();
                    if line == "/users" {
                        let names: Vec<String> = all.iter().map(|u| u.0.clone()).collect();
                        let _ = out.write_all(format!("USERS {}\n", names.join(" ")).as_bytes());
                    } else if line.starts_with("/quit") {
                        break;
                    } else if !line.is_empty() {
                        for (_, s) in all.iter_mut() {
                            let _ = s.write_all(format!("MSG {name} {line}\n").as_bytes());
                        }
                    }
                }
                let mut all = users.lock().unwrap();
                all.retain(|u| u.0 != name);
                for (_, s) in all.iter_mut() {
                    let _ = s.write_all(format!("LEAVE {name} {peer}\n").as_bytes());
                }
                let _ = out.write_all(b"BYE bye\n");
            });
        }
    });
    addr
}
