//! A real `redis-server` for the tests of the shared store: started on a free loopback
//! port, with no persistence, and stopped when dropped.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` child process bound to 127.0.0.1, killed on drop.
#[derive(Debug)]
pub struct RedisServer {
    child: Child,
    port: u16,
}

/// How long a starting server may take to answer `PING`.
const START_TIMEOUT: Duration = Duration::from_secs(10);

impl RedisServer {
    /// Starts one, or returns `None` after saying on stderr how to install it when
    /// `redis-server` is not on `PATH`. Under `CI=true` a missing binary panics instead:
    /// CI must run these tests (`.ci/run` installs it).
    pub fn start() -> Option<RedisServer> {
        let installed = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !installed {
            let message = "redis-server is not installed: the tests of the shared store need \
                           it (apt-get install redis-server, or brew install redis)";
            if std::env::var("CI").is_ok_and(|ci| ci == "true") {
                panic!("{message}");
            }
            eprintln!("skipped: {message}");
            return None;
        }
        // A port just freed may be taken by someone else before the server binds it: a few
        // tries, each on a fresh port.
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port();
            match RedisServer::spawn(port) {
                Ok(server) => return Some(server),
                Err(error) => last = error,
            }
        }
        panic!("redis-server did not start: {last}");
    }

    fn spawn(port: u16) -> Result<RedisServer, String> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--dir", &std::env::temp_dir().to_string_lossy()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| format!("cannot run redis-server: {error}"))?;
        let mut server = RedisServer { child, port };
        let started = Instant::now();
        while started.elapsed() < START_TIMEOUT {
            if server
                .command(&["PING"])
                .is_ok_and(|reply| reply == "+PONG")
            {
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("redis-server exited with {status}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        server.stop();
        Err(format!(
            "redis-server did not answer within {START_TIMEOUT:?}"
        ))
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs one command and returns the first line of its reply (`+OK`, `:3`, `$-1`, …):
    /// enough for the tests to look at a counter.
    pub fn command(&self, args: &[&str]) -> Result<String, String> {
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(1))
            .map_err(|error| error.to_string())?;
        stream
            .set_read_timeout(Some(Duration::from_secs(2)))
            .map_err(|error| error.to_string())?;
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        stream
            .write_all(request.as_bytes())
            .map_err(|error| error.to_string())?;
        let mut reply = Vec::new();
        let mut byte = [0u8; 1];
        // One line, bounded.
        while reply.len() < 4096 {
            match stream.read(&mut byte) {
                Ok(1) if byte[0] == b'\n' => break,
                Ok(1) => reply.push(byte[0]),
                Ok(_) => break,
                Err(error) => return Err(error.to_string()),
            }
        }
        Ok(String::from_utf8_lossy(&reply).trim_end().to_owned())
    }

    /// Stops the server now (tests of a store that goes away mid-run).
    pub fn stop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}
