//! Watch and connection events, printed as zkCli's `MyWatcher` prints them
//! ("\nWATCHER::" then "\nWatchedEvent state:... type:... path:..."), on their own thread in
//! arrival order, like the Java client's event thread.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, sync_channel, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Where the event thread writes at a terminal: above the line being edited, which the
/// line editor then draws again (rustyline's external printer).
pub type AbovePrompt = Box<dyn rustyline::ExternalPrinter + Send>;

/// `Watcher.Event.KeeperState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeeperState {
    Disconnected,
    SyncConnected,
    AuthFailed,
    Expired,
    Closed,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchedEvent {
    pub state: KeeperState,
    /// `Watcher.Event.EventType` value (-1: None).
    pub event_type: i32,
    pub path: Option<String>,
}

impl WatchedEvent {
    pub fn state_change(state: KeeperState) -> WatchedEvent {
        WatchedEvent {
            state,
            event_type: -1,
            path: None,
        }
    }
}

fn type_name(t: i32) -> String {
    match t {
        -1 => "None".into(),
        1 => "NodeCreated".into(),
        2 => "NodeDeleted".into(),
        3 => "NodeDataChanged".into(),
        4 => "NodeChildrenChanged".into(),
        5 => "DataWatchRemoved".into(),
        6 => "ChildWatchRemoved".into(),
        7 => "PersistentWatchRemoved".into(),
        other => format!("Unknown({other})"),
    }
}

/// `WatchedEvent.toString()`.
impl fmt::Display for WatchedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "WatchedEvent state:{:?} type:{} path:{}",
            self.state,
            type_name(self.event_type),
            self.path.as_deref().unwrap_or("null")
        )
    }
}

/// Events waiting to be printed; past this the connection thread waits for the printer
/// (a terminal that does not keep up slows the session down rather than filling memory).
const EVENT_QUEUE: usize = 4096;

enum Msg {
    Event(WatchedEvent),
    Flush(std::sync::mpsc::Sender<()>),
}

/// The event thread. `printwatches off` silences it.
pub struct EventPrinter {
    tx: SyncSender<Msg>,
    pub print: Arc<AtomicBool>,
    above_prompt: Arc<Mutex<Option<AbovePrompt>>>,
    _thread: JoinHandle<()>,
}

/// What the connection side holds to deliver events.
#[derive(Clone)]
pub struct EventSink(SyncSender<Msg>);

impl EventSink {
    pub fn send(&self, e: WatchedEvent) {
        // The printer lives as long as the process; a send can only fail at exit.
        let _ = self.0.send(Msg::Event(e));
    }
}

impl EventPrinter {
    pub fn start() -> EventPrinter {
        let (tx, rx) = sync_channel::<Msg>(EVENT_QUEUE);
        let print = Arc::new(AtomicBool::new(true));
        let p = print.clone();
        let above_prompt: Arc<Mutex<Option<AbovePrompt>>> = Arc::new(Mutex::new(None));
        let above = above_prompt.clone();
        let thread = std::thread::Builder::new()
            .name("cli-events".into())
            .spawn(move || {
                for msg in rx {
                    match msg {
                        Msg::Event(e) => {
                            if !p.load(Ordering::Relaxed) {
                                continue;
                            }
                            let mut above = above.lock().unwrap_or_else(|e| e.into_inner());
                            if let Some(printer) = above.as_mut() {
                                let _ = printer.print(format!("\nWATCHER::\n\n{e}"));
                            } else {
                                let mut out = std::io::stdout().lock();
                                let _ = write!(out, "\nWATCHER::\n\n{e}\n");
                                let _ = out.flush();
                            }
                        }
                        Msg::Flush(ack) => {
                            let _ = ack.send(());
                        }
                    }
                }
            })
            .expect("spawn the event thread");
        EventPrinter {
            tx,
            print,
            above_prompt,
            _thread: thread,
        }
    }

    /// From now on, events go above the prompt of the line editor.
    pub fn print_above_prompt(&self, printer: AbovePrompt) {
        *self.above_prompt.lock().unwrap_or_else(|e| e.into_inner()) = Some(printer);
    }

    pub fn sink(&self) -> EventSink {
        EventSink(self.tx.clone())
    }

    /// Waits until every event sent so far is printed.
    pub fn flush(&self) {
        let (ack_tx, ack_rx) = channel();
        if self.tx.send(Msg::Flush(ack_tx)).is_ok() {
            let _ = ack_rx.recv();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_java() {
        let e = WatchedEvent {
            state: KeeperState::SyncConnected,
            event_type: 3,
            path: Some("/x".into()),
        };
        assert_eq!(
            e.to_string(),
            "WatchedEvent state:SyncConnected type:NodeDataChanged path:/x"
        );
        assert_eq!(
            WatchedEvent::state_change(KeeperState::Closed).to_string(),
            "WatchedEvent state:Closed type:None path:null"
        );
    }
}
