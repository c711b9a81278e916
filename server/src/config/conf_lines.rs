//! What the `conf` four-letter word prints of the configuration.

use super::quorum::QuorumAddr;
use super::ServerConfig;

impl ServerConfig {
    /// ZooKeeperServerConf's serverId: the myid in quorum mode, 0 standalone.
    pub fn server_id(&self) -> u64 {
        if self.is_distributed() {
            self.my_id.unwrap_or(0)
        } else {
            0
        }
    }

    /// The key=value lines of the `conf` 4lw, in ZooKeeper's order (ZooKeeperServer.dumpConf,
    /// plus QuorumZooKeeperServer's in quorum mode). Directory sizes are passed in by the
    /// caller, which knows them. The quorum membership text is [`Self::membership`].
    pub fn conf_lines(&self, data_dir_size: u64, data_log_size: u64) -> Vec<(String, String)> {
        let port = |p: Option<u16>| p.map_or(-1, i32::from).to_string();
        let mut v: Vec<(String, String)> = vec![
            ("clientPort".into(), port(self.client_port)),
            ("secureClientPort".into(), port(self.secure_client_port)),
            ("dataDir".into(), self.snap_dir().display().to_string()),
            ("dataDirSize".into(), data_dir_size.to_string()),
            (
                "dataLogDir".into(),
                self.txn_log_dir().display().to_string(),
            ),
            ("dataLogSize".into(), data_log_size.to_string()),
            ("tickTime".into(), self.tick_time_ms.to_string()),
            ("maxClientCnxns".into(), self.max_client_cnxns.to_string()),
            (
                "minSessionTimeout".into(),
                self.min_session_timeout_ms.to_string(),
            ),
            (
                "maxSessionTimeout".into(),
                self.max_session_timeout_ms.to_string(),
            ),
            (
                "clientPortListenBacklog".into(),
                self.client_port_listen_backlog.to_string(),
            ),
        ];
        let distributed = self.is_distributed();
        v.push(("serverId".into(), self.server_id().to_string()));
        if distributed {
            v.push(("initLimit".into(), self.init_limit.to_string()));
            v.push(("syncLimit".into(), self.sync_limit.to_string()));
            v.push(("electionAlg".into(), "3".into()));
            let me = self.my_server();
            let join = |f: fn(&QuorumAddr) -> u16| {
                me.map(|s| {
                    s.addrs
                        .iter()
                        .map(|a| f(a).to_string())
                        .collect::<Vec<_>>()
                        .join("|")
                })
                .unwrap_or_default()
            };
            v.push(("electionPort".into(), join(|a| a.election_port)));
            v.push(("quorumPort".into(), join(|a| a.quorum_port)));
            v.push(("peerType".into(), self.peer_type.ordinal().to_string()));
        }
        v
    }

    /// `conf`'s membership block in quorum mode (QuorumMaj.toString: `server.N=...` lines and
    /// `version=<hex>` without a final newline); None in standalone mode.
    pub fn membership(&self) -> Option<String> {
        if !self.is_distributed() {
            return None;
        }
        let mut s = String::new();
        for line in &self.servers {
            s.push_str(&format!("server.{}={}\n", line.id, line));
        }
        s.push_str(&format!(
            "version={:x}",
            self.dynamic_config_version.unwrap_or(0)
        ));
        Some(s)
    }
}
