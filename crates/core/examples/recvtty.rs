//! recvtty: the receiving end of `--console-socket`, for tests (after runc's
//! contrib/cmd/recvtty).
//!
//! ```text
//! recvtty [--input TEXT] [--name-file PATH] [--pidfd] SOCKET
//! ```
//!
//! With `--pidfd` it is the receiving end of `--pidfd-socket` instead: it prints the name sent
//! and the `Pid:` line of the received descriptor's fdinfo, waits until that process exits
//! (the pidfd polls readable) and prints `exited`.
//!
//! Listens on the AF_UNIX stream socket SOCKET (created under a temporary name and renamed into
//! place once listening, so a runtime that finds the path can connect), accepts one connection,
//! receives the pty master with its name (SCM_RIGHTS), writes the name to `--name-file`, writes
//! TEXT into the master, then copies the master to stdout until EIO or EOF: every process of
//! the container holding the slave has exited. Exits 0 then, 1 on any error.
//!
//! Build: `cargo build --release --example recvtty` (target/release/examples/recvtty).

use runts_core::console;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixListener;

struct Args {
    socket: String,
    input: Option<String>,
    name_file: Option<String>,
    pidfd: bool,
}

fn usage() -> ! {
    eprintln!("usage: recvtty [--input TEXT] [--name-file PATH] [--pidfd] SOCKET");
    std::process::exit(2)
}

fn parse() -> Args {
    let mut socket = None;
    let mut input = None;
    let mut name_file = None;
    let mut pidfd = false;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--input" => input = Some(it.next().unwrap_or_else(|| usage())),
            "--name-file" => name_file = Some(it.next().unwrap_or_else(|| usage())),
            "--pidfd" => pidfd = true,
            "-h" | "--help" => usage(),
            _ if socket.is_none() && !a.starts_with("--") => socket = Some(a),
            _ => usage(),
        }
    }
    Args {
        socket: socket.unwrap_or_else(|| usage()),
        input,
        name_file,
        pidfd,
    }
}

fn run(args: &Args) -> Result<(), String> {
    let tmp = format!("{}.tmp{}", args.socket, std::process::id());
    let _ = std::fs::remove_file(&tmp);
    let listener = UnixListener::bind(&tmp).map_err(|e| format!("bind {tmp}: {e}"))?;
    std::fs::rename(&tmp, &args.socket)
        .map_err(|e| format!("rename {tmp} to {}: {e}", args.socket))?;
    let (conn, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
    let (master, name) = console::recv_fd(conn.as_fd()).map_err(|e| e.to_string())?;
    drop(conn);
    drop(listener);
    let _ = std::fs::remove_file(&args.socket);
    if args.pidfd {
        return watch_pidfd(&master, &name);
    }
    if let Some(f) = &args.name_file {
        std::fs::write(f, &name).map_err(|e| format!("write {f}: {e}"))?;
    }
    if let Some(text) = &args.input {
        write_all(&master, text.as_bytes())?;
    }
    copy_out(&master)
}

fn watch_pidfd(pidfd: &OwnedFd, name: &str) -> Result<(), String> {
    use std::os::fd::AsRawFd;
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", pidfd.as_raw_fd()))
        .map_err(|e| format!("fdinfo: {e}"))?;
    let pid = info.lines().find(|l| l.starts_with("Pid:")).unwrap_or("Pid:\t?");
    println!("{name}\n{pid}");
    let mut fds = [nix::poll::PollFd::new(pidfd.as_fd(), nix::poll::PollFlags::POLLIN)];
    loop {
        match nix::poll::poll(&mut fds, nix::poll::PollTimeout::NONE) {
            Ok(_) => break,
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(format!("poll the pidfd: {e}")),
        }
    }
    println!("exited");
    Ok(())
}

fn write_all(master: &OwnedFd, mut buf: &[u8]) -> Result<(), String> {
    while !buf.is_empty() {
        match nix::unistd::write(master, buf) {
            Ok(n) => buf = &buf[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(format!("write to the pty: {e}")),
        }
    }
    Ok(())
}

fn copy_out(master: &OwnedFd) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match nix::unistd::read(master.as_fd(), &mut buf) {
            // EIO: no slave descriptor open any more (see pty(7)).
            Ok(0) | Err(nix::errno::Errno::EIO) => return Ok(()),
            Ok(n) => {
                out.write_all(&buf[..n])
                    .map_err(|e| format!("stdout: {e}"))?;
                out.flush().map_err(|e| format!("stdout: {e}"))?;
            }
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(format!("read the pty: {e}")),
        }
    }
}

fn main() {
    let args = parse();
    if let Err(e) = run(&args) {
        eprintln!("recvtty: {e}");
        std::process::exit(1);
    }
}
