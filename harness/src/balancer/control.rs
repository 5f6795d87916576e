//! Controlling a running HAProxy through what HAProxy calls its Runtime API, over TCP: one command
//! per connection, its answer read to the end.
//! The harness fills a server slot with a replica's address, puts it in or out of service
//! (`state ready` / `state maint`, as an ingress controller does when endpoints change), and
//! reads what the balancer thinks of it (`show stat`).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::error::BalancerError;

/// The backend holding the replicas.
const BACKEND: &str = "replicas";
/// How long one command may take.
const COMMAND_DEADLINE: Duration = Duration::from_secs(10);
/// How often the API is asked again while the balancer starts.
const START_POLL: Duration = Duration::from_millis(20);

/// What the balancer thinks of a server, from `show stat`'s `status` column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerStatus {
    /// In service: `UP` (its checks pass) or `no check` (none configured).
    Up,
    /// Its checks fail.
    Down,
    /// In maintenance: out of the pool.
    Maint,
    /// Anything else (`NOLB`, `DRAIN`, a transition).
    Other(String),
}

impl ServerStatus {
    fn parse(text: &str) -> ServerStatus {
        let text = text.trim();
        if text == "no check" || text.starts_with("UP") {
            ServerStatus::Up
        } else if text.starts_with("MAINT") {
            ServerStatus::Maint
        } else if text.starts_with("DOWN") {
            ServerStatus::Down
        } else {
            ServerStatus::Other(text.to_string())
        }
    }
}

/// A client of one balancer's runtime API.
#[derive(Debug, Clone, Copy)]
pub struct BalancerControl {
    addr: SocketAddr,
}

impl BalancerControl {
    /// The API at `addr` (the balancer's published admin port).
    pub fn new(addr: SocketAddr) -> BalancerControl {
        BalancerControl { addr }
    }

    /// Waits until the balancer answers `show info`: it has read its configuration and listens.
    /// Through a published port a connection opens before HAProxy listens, so only an answer
    /// counts.
    pub async fn wait_answering(&self, within: Duration) -> Result<(), BalancerError> {
        let until = Instant::now() + within;
        loop {
            if let Ok(answer) = self.command("show info").await
                && answer.contains("Name: HAProxy")
            {
                return Ok(());
            }
            if Instant::now() >= until {
                return Err(BalancerError::NotAnswering {
                    addr: self.addr,
                    within,
                });
            }
            tokio::time::sleep(START_POLL).await;
        }
    }

    /// Points server slot `server` at `ip:port`.
    pub async fn set_address(
        &self,
        server: &str,
        ip: IpAddr,
        port: u16,
    ) -> Result<(), BalancerError> {
        let command = format!("set server {BACKEND}/{server} addr {ip} port {port}");
        let answer = self.command(&command).await?;
        let answer = answer.trim();
        if answer.starts_with("IP changed")
            || answer.starts_with("no need to change")
            || answer.starts_with("port changed")
        {
            Ok(())
        } else {
            Err(BalancerError::Refused {
                command,
                answer: answer.to_string(),
            })
        }
    }

    /// Puts server `server` in service (`ready`) or takes it out (`maint`: no new request goes
    /// to it; those it is serving finish).
    pub async fn set_in_service(
        &self,
        server: &str,
        in_service: bool,
    ) -> Result<(), BalancerError> {
        let state = if in_service { "ready" } else { "maint" };
        let command = format!("set server {BACKEND}/{server} state {state}");
        let answer = self.command(&command).await?;
        if answer.trim().is_empty() {
            Ok(())
        } else {
            Err(BalancerError::Refused {
                command,
                answer: answer.trim().to_string(),
            })
        }
    }

    /// What the balancer thinks of server `server` now.
    pub async fn status(&self, server: &str) -> Result<ServerStatus, BalancerError> {
        let stat = self.command("show stat").await?;
        status_in(&stat, server).ok_or_else(|| BalancerError::NoSuchServer {
            server: server.to_string(),
        })
    }

    /// Sends one command and reads the whole answer (HAProxy closes the connection after it).
    pub async fn command(&self, command: &str) -> Result<String, BalancerError> {
        let io = |source: std::io::Error| BalancerError::Io {
            addr: self.addr,
            command: command.to_string(),
            source,
        };
        let exchange = async {
            let mut stream = TcpStream::connect(self.addr).await?;
            stream.write_all(format!("{command}\n").as_bytes()).await?;
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await?;
            Ok::<_, std::io::Error>(answer)
        };
        match tokio::time::timeout(COMMAND_DEADLINE, exchange).await {
            Ok(answer) => answer.map_err(io),
            Err(_) => Err(io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "no answer",
            ))),
        }
    }
}

/// Server `server`'s status in `show stat`'s CSV (header `# pxname,svname,...,status,...`).
fn status_in(stat: &str, server: &str) -> Option<ServerStatus> {
    let mut lines = stat.lines();
    let header: Vec<&str> = lines.next()?.trim_start_matches("# ").split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name);
    let (proxy, name, status) = (column("pxname")?, column("svname")?, column("status")?);
    lines.find_map(|line| {
        let fields: Vec<&str> = line.split(',').collect();
        (fields.get(proxy) == Some(&BACKEND) && fields.get(name) == Some(&server))
            .then(|| ServerStatus::parse(fields.get(status).unwrap_or(&"")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_servers_status_is_read_off_show_stat() {
        let stat = "# pxname,svname,qcur,status,weight\n\
                    web,FRONTEND,0,OPEN,\n\
                    replicas,s1,0,UP,1\n\
                    replicas,s2,0,MAINT,1\n\
                    replicas,s3,0,no check,1\n\
                    replicas,s4,0,DOWN 1/2,1\n\
                    replicas,BACKEND,0,UP,2\n";
        assert_eq!(status_in(stat, "s1"), Some(ServerStatus::Up));
        assert_eq!(status_in(stat, "s2"), Some(ServerStatus::Maint));
        assert_eq!(status_in(stat, "s3"), Some(ServerStatus::Up));
        assert_eq!(status_in(stat, "s4"), Some(ServerStatus::Down));
        assert_eq!(status_in(stat, "s9"), None);
        assert_eq!(status_in("", "s1"), None);
    }
}
