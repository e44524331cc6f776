//! Demo functions for other threads and tokio: what the thread tests and `examples/tcp` call.

use std::collections::HashSet;
use std::future::Future;
use std::time::{Duration, Instant};

use futures::channel::oneshot;
use ocaml::Raw;
use ocaml_interop::{OCaml, OCamlInt};

use lwt_rust::{
    __private::root_from_raw, lwt_stub, spawn, with_runtime, Error, Handle, JoinError, Root,
    SendRoot, TrySpawnError,
};

/// What another thread, started at once with the current `Handle`, sends back.
async fn reply_from_thread<T: Send + 'static>(
    work: impl FnOnce(Handle) -> Result<T, String> + Send + 'static,
) -> Result<T, Error> {
    let handle = Handle::current();
    let (tx, rx) = oneshot::channel();
    std::thread::spawn(move || {
        let _ = tx.send(work(handle));
    });
    rx.await
        .map_err(|_| Error::rust("the thread died"))?
        .map_err(Error::Rust)
}

/// `handle_stress : int -> int -> (int * int) Lwt.t`: `threads` threads each hand `per_thread`
/// tasks to the OCaml thread through a `Handle` (awaiting room when the queue is full), then
/// await every result. Resolves with (results received, distinct results).
#[lwt_rust::func]
pub async fn handle_stress(threads: i64, per_thread: i64) -> Result<(i64, i64), Error> {
    let (threads, per_thread) = (threads as usize, per_thread as usize);
    reply_from_thread(move |handle| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let handle = handle.clone();
                std::thread::spawn(move || {
                    futures::executor::block_on(async {
                        let mut joins = Vec::with_capacity(per_thread);
                        for i in 0..per_thread {
                            let id = t * per_thread + i;
                            joins.push(handle.spawn(async move { id }).await?);
                        }
                        let mut results = Vec::with_capacity(per_thread);
                        for join in joins {
                            results.push(join.await?);
                        }
                        Ok::<_, JoinError>(results)
                    })
                })
            })
            .collect();
        let mut all = Vec::new();
        for worker in workers {
            let results = worker
                .join()
                .map_err(|_| "a worker panicked".to_owned())?
                .map_err(|e| e.to_string())?;
            all.extend(results);
        }
        let distinct: HashSet<usize> = all.iter().copied().collect();
        Ok((all.len() as i64, distinct.len() as i64))
    })
    .await
}

/// `run_in_thread : (int -> int) -> int -> int Lwt.t`: another thread calls the OCaml
/// function through `Handle::run` and sends the result back.
#[lwt_rust::external(ocaml = "(int -> int) -> int -> int Lwt.t")]
#[export_name = "lwt_rust_demo_run_in_thread"]
pub extern "C" fn run_in_thread(f: Raw, x: Raw) -> Raw {
    lwt_stub(|| {
        // SAFETY: OCaml context; `f` rooted before anything allocates; `x` is an immediate.
        let (f, x) = with_runtime(|cr| unsafe {
            let f: OCaml<fn(OCamlInt) -> OCamlInt> = OCaml::new(cr, f.0);
            (SendRoot::new(Root::new(f)), ocaml::sys::int_val(x.0) as i64)
        });
        spawn::<OCamlInt, i64, _>(reply_from_thread(move |handle| {
            futures::executor::block_on(handle.run(move |cr| {
                let arg = ocaml_interop::ToOCaml::<OCamlInt>::to_boxroot(&x, cr);
                // SAFETY: OCaml context (Handle::run); both values read from roots.
                match unsafe {
                    lwt_rust::__private::call1(
                        lwt_rust::__private::root_raw(f.root()),
                        arg.get_raw(),
                    )
                } {
                    Ok(result) => Ok(unsafe { OCaml::<OCamlInt>::new(cr, result) }.to_rust()),
                    Err(_) => Err("the OCaml function raised".to_owned()),
                }
            }))
            .map_err(|e| e.to_string())?
        }))
    })
}

/// `run_blocking_here : unit -> string`: `Handle::run_blocking` on the OCaml thread itself:
/// the error text (it must refuse at once, not hang).
#[lwt_rust::func]
pub fn run_blocking_here() -> String {
    match Handle::current().run_blocking(|_| 1, Duration::from_secs(10)) {
        Ok(_) => "ran".to_owned(),
        Err(err) => err.to_string(),
    }
}

/// `run_blocking_from_thread : int -> float -> (int * string) Lwt.t`: another thread calls
/// `run_blocking(|_| x * 2, timeout)`; resolves with (the value or -1, the error text or "").
/// Call it while the OCaml thread is busy elsewhere to see the timeout.
#[lwt_rust::func]
pub async fn run_blocking_from_thread(x: i64, timeout: f64) -> Result<(i64, String), Error> {
    reply_from_thread(move |handle| {
        Ok(
            match handle.run_blocking(move |_| x * 2, Duration::from_secs_f64(timeout)) {
                Ok(v) => (v, String::new()),
                Err(err) => (-1, err.to_string()),
            },
        )
    })
    .await
}

/// `backpressure_probe : int -> (int * int * bool) * int Lwt.t`: on another thread (joined
/// before returning, so the OCaml thread drains nothing meanwhile), `try_spawn` `n` tasks,
/// then start one `spawn` and poll it once. Returns (accepted, refused as Full, whether that
/// `spawn` was waiting for room), and a promise of how many tasks eventually ran.
#[lwt_rust::external(ocaml = "int -> (int * int * bool) * int Lwt.t")]
#[export_name = "lwt_rust_demo_backpressure_probe"]
pub extern "C" fn backpressure_probe(n: Raw) -> Raw {
    lwt_stub(|| {
        // SAFETY: an immediate.
        let n = unsafe { ocaml::sys::int_val(n.0) } as usize;
        let handle = Handle::current();
        let (probe_tx, probe_rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = oneshot::channel::<i64>();
        std::thread::spawn(move || {
            let mut accepted = Vec::new();
            let mut full = 0;
            for _ in 0..n {
                match handle.try_spawn(async {}) {
                    Ok(join) => accepted.push(join),
                    Err(TrySpawnError::Full(_)) => full += 1,
                    Err(TrySpawnError::ShutDown(_)) => {}
                }
            }
            let mut waiting = Box::pin(handle.spawn(async {}));
            let was_waiting = waiting
                .as_mut()
                .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
                .is_pending();
            let _ = probe_tx.send((accepted.len() as i64, full as i64, was_waiting));
            let ran = futures::executor::block_on(async {
                let mut ran = 0;
                for join in accepted {
                    ran += i64::from(join.await.is_ok());
                }
                if let Ok(join) = waiting.await {
                    ran += i64::from(join.await.is_ok());
                }
                ran
            });
            let _ = done_tx.send(ran);
        });
        let probe = probe_rx.recv().unwrap_or((0, 0, false));
        let ran = lwt_rust::spawn_rooted::<OCamlInt, i64, _>(async move {
            done_rx.await.map_err(|_| Error::rust("the thread died"))
        });
        // SAFETY: OCaml context; `ran` is rooted; the tuple goes straight back to OCaml.
        with_runtime(|cr| unsafe {
            Raw(ocaml_interop::ToOCaml::<(
                (OCamlInt, OCamlInt, bool),
                lwt_rust::conv::Lwt<OCamlInt>,
            )>::to_ocaml(&(probe, ran), cr)
            .raw())
        })
    })
}

/// `tcp_round_trips : int -> int -> int -> (int * int * float) Lwt.t`: `connections`
/// concurrent tokio TCP clients each connect to 127.0.0.1:`port`, send `size` bytes and read
/// the echo back, checking every byte. Resolves with (connections that round-tripped,
/// bytes verified, seconds).
#[lwt_rust::func]
pub async fn tcp_round_trips(
    port: i64,
    connections: i64,
    size: i64,
) -> Result<(i64, i64, f64), Error> {
    let (port, connections, size) = (port as u16, connections as usize, size as usize);
    let started = Instant::now();
    let mut clients = Vec::with_capacity(connections);
    for c in 0..connections {
        let io = lwt_rust::tokio::spawn_io(round_trip(port, c, size)).map_err(Error::rust)?;
        clients.push(io);
    }
    let (mut ok, mut bytes) = (0, 0);
    for client in clients {
        // The tokio join handle's waker is this task's: it resumes on the OCaml thread.
        match client.await {
            Ok(Ok(n)) => {
                ok += 1;
                bytes += n as i64;
            }
            Ok(Err(err)) => return Err(Error::rust(err)),
            Err(err) => return Err(Error::rust(err)),
        }
    }
    Ok((ok, bytes, started.elapsed().as_secs_f64()))
}

async fn round_trip(port: u16, client: usize, size: usize) -> std::io::Result<usize> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let payload: Vec<u8> = (0..size)
        .map(|i| ((i * 31 + client * 7) % 251) as u8)
        .collect();
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream.write_all(&payload).await?;
    let mut echoed = vec![0; size];
    stream.read_exact(&mut echoed).await?;
    if echoed != payload {
        return Err(std::io::Error::other(format!(
            "client {client}: corrupted echo"
        )));
    }
    Ok(size)
}

/// `tokio_sleep : float -> float Lwt.t`: a task on the OCaml thread awaits
/// `tokio::time::sleep` directly (inside the runtime's context); resolves with the seconds
/// actually slept.
#[lwt_rust::func]
pub async fn tokio_sleep(seconds: f64) -> Result<f64, String> {
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    Ok(started.elapsed().as_secs_f64())
}

/// `soak : int -> int -> int Lwt.t`: `threads` threads each hand `per_thread` tasks to the OCaml
/// thread through a `Handle`, in batches of 1 000 awaited before the next (so memory should
/// stay flat). Resolves with the number of tasks that ran.
#[lwt_rust::func]
pub async fn soak(threads: i64, per_thread: i64) -> Result<i64, Error> {
    let (threads, per_thread) = (threads as usize, per_thread as usize);
    reply_from_thread(move |handle| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let handle = handle.clone();
                std::thread::spawn(move || {
                    futures::executor::block_on(async {
                        let mut ran = 0i64;
                        let mut left = per_thread;
                        while left > 0 {
                            let batch = left.min(1_000);
                            let mut joins = Vec::with_capacity(batch);
                            for _ in 0..batch {
                                joins.push(handle.spawn(async { 1i64 }).await?);
                            }
                            for join in joins {
                                ran += join.await?;
                            }
                            left -= batch;
                        }
                        Ok::<_, JoinError>(ran)
                    })
                })
            })
            .collect();
        let mut total = 0;
        for worker in workers {
            total += worker
                .join()
                .map_err(|_| "a worker panicked".to_owned())?
                .map_err(|e| e.to_string())?;
        }
        Ok(total)
    })
    .await
}

/// `read_off_thread : int -> string Lwt.t`: roots the int in a `SendRoot`, then another thread
/// tries to read it. Resolves with the panic message the read gave (it must refuse).
#[lwt_rust::external(ocaml = "int -> string Lwt.t")]
#[export_name = "lwt_rust_demo_read_off_thread"]
pub extern "C" fn read_off_thread(value: Raw) -> Raw {
    lwt_stub(|| {
        // SAFETY: OCaml context; an immediate rooted at once.
        let root: SendRoot<OCamlInt> = SendRoot::new(unsafe { root_from_raw(value.0) });
        spawn::<String, String, _>(reply_from_thread(move |_| {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let _ = root.root();
            }));
            Ok(match outcome {
                Ok(()) => "read".to_owned(),
                Err(panic) => lwt_rust::__private::panic_message(&*panic),
            })
        }))
    })
}

/// `nested_spawns : int -> int Lwt.t`: a task that spawns a task that spawns … `depth` deep
/// (each awaiting the next through its join handle); resolves with the depth reached.
#[lwt_rust::func]
pub async fn nested_spawns(depth: i64) -> Result<i64, JoinError> {
    fn level(
        handle: Handle,
        depth: i64,
    ) -> futures::future::BoxFuture<'static, Result<i64, JoinError>> {
        Box::pin(async move {
            if depth == 0 {
                return Ok(0);
            }
            let inner = handle.spawn(level(handle.clone(), depth - 1)).await?;
            Ok(inner.await?? + 1)
        })
    }
    level(Handle::current(), depth).await
}

/// `drop_pending : int -> int * int`: creates `n` Rust promises (`Promise::pending`) and drops
/// them all without settling them. Returns (slots in use at the peak, slots in use after).
#[lwt_rust::func]
pub fn drop_pending(n: i64) -> (i64, i64) {
    let before = lwt_rust::diagnostics::live_promises();
    let promises: Vec<_> = (0..n)
        .map(|_| lwt_rust::Promise::<OCamlInt>::pending())
        .collect();
    let peak = lwt_rust::diagnostics::live_promises() - before;
    drop(promises);
    (
        peak as i64,
        (lwt_rust::diagnostics::live_promises() - before) as i64,
    )
}

/// What the thread started by [`block_until_shutdown`] got back.
pub(crate) static THREAD_OUTCOME: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// `block_until_shutdown : unit -> unit`: starts a thread that calls `run_blocking` with a 30 s
/// timeout (call it while the OCaml thread will not drain, then shut down), and then, after
/// its call returned, tries `try_spawn` once more. The thread records both outcomes for
/// `thread_outcome`.
#[lwt_rust::func]
pub fn block_until_shutdown() {
    let handle = Handle::current();
    *THREAD_OUTCOME.lock().expect("poisoned") = None;
    std::thread::spawn(move || {
        let first = match handle.run_blocking(|_| 1, Duration::from_secs(30)) {
            Ok(_) => "ran".to_owned(),
            Err(err) => err.to_string(),
        };
        let second = match handle.try_spawn(async {}) {
            Ok(join) => {
                join.detach();
                "accepted".to_owned()
            }
            Err(TrySpawnError::Full(_)) => "full".to_owned(),
            Err(TrySpawnError::ShutDown(_)) => "refused: shut down".to_owned(),
        };
        *THREAD_OUTCOME.lock().expect("poisoned") = Some(format!("{first}; then {second}"));
    });
}

/// `thread_outcome : unit -> string option`: what that thread recorded, once it has.
#[lwt_rust::func]
pub fn thread_outcome() -> Option<String> {
    THREAD_OUTCOME.lock().expect("poisoned").clone()
}

/// What the task started by [`wait_in_handle_task`] finished with.
static WAITING_OUTCOME: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// `wait_in_handle_task : unit -> unit`: starts a thread that spawns, through a `Handle`, a task
/// that waits for a wake that never comes, then records what its join handle gives (read it
/// with `waiting_outcome_raw`, after `Lwt_rust.shutdown`).
#[lwt_rust::func]
pub fn wait_in_handle_task() {
    let handle = Handle::current();
    *WAITING_OUTCOME.lock().expect("poisoned") = None;
    std::thread::spawn(move || {
        let outcome = futures::executor::block_on(async {
            match handle.spawn(futures::future::pending::<()>()).await {
                Ok(join) => match join.await {
                    Ok(()) => "finished".to_owned(),
                    Err(err) => err.to_string(),
                },
                Err(err) => format!("refused: {err}"),
            }
        });
        *WAITING_OUTCOME.lock().expect("poisoned") = Some(outcome);
    });
}

/// `waiting_outcome_raw : unit -> string`: what the task of [`wait_in_handle_task`] finished
/// with, read without a stub frame (after `Lwt_rust.shutdown`); `""` until it finished.
#[lwt_rust::external(ocaml = "unit -> string")]
#[export_name = "lwt_rust_demo_waiting_outcome_raw"]
pub extern "C" fn waiting_outcome_raw(_unit: Raw) -> Raw {
    let outcome = WAITING_OUTCOME
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .unwrap_or_default();
    // SAFETY: OCaml called this function (runtime lock held); one allocation, returned at once.
    Raw(unsafe {
        ocaml::sys::caml_alloc_initialized_string(outcome.len(), outcome.as_ptr().cast())
    })
}

/// `handle_tasks : unit -> int`: tasks spawned through handles that wait for a wake
/// (registered for the shutdown to wake them).
#[lwt_rust::func]
pub fn handle_tasks() -> i64 {
    lwt_rust::diagnostics::live_handle_tasks() as i64
}

/// `spawn_inside_with_runtime : unit -> int Lwt.t`: misuse: spawning while the runtime is lent.
/// Must give a promise rejected with `Rust_panic`, never corrupt anything.
#[lwt_rust::external(ocaml = "unit -> int Lwt.t")]
#[export_name = "lwt_rust_demo_spawn_inside_with_runtime"]
pub extern "C" fn spawn_inside_with_runtime(_unit: Raw) -> Raw {
    lwt_stub(|| with_runtime(|_cr| spawn::<OCamlInt, i64, _>(async { Ok(1) })))
}

/// `submit_from_thread : int -> int Lwt.t`: another thread fires and forgets `n` tasks with
/// `Handle::try_submit` (retrying while the queue is full); each reports to a task on the
/// OCaml thread, which resolves with how many ran.
#[lwt_rust::func]
pub async fn submit_from_thread(n: i64) -> i64 {
    use futures::StreamExt;
    let n = n as usize;
    let handle = Handle::current();
    let (tx, mut rx) = futures::channel::mpsc::unbounded::<()>();
    std::thread::spawn(move || {
        for _ in 0..n {
            let tx = tx.clone();
            let mut task = async move {
                let _ = tx.unbounded_send(());
            };
            loop {
                match handle.try_submit(task) {
                    Ok(()) => break,
                    Err(TrySpawnError::Full(back)) => {
                        task = back;
                        std::thread::yield_now();
                    }
                    Err(TrySpawnError::ShutDown(_)) => return,
                }
            }
        }
    });
    let mut ran = 0;
    // The stream ends when the thread and every submitted task have dropped `tx`.
    while rx.next().await.is_some() {
        ran += 1;
    }
    ran
}

/// `tokio_loopback : string -> string Lwt.t`: on the OCaml thread, binds a tokio listener on
/// 127.0.0.1, connects to it, sends the text one way and returns what arrived: tokio sockets
/// used directly by a task (test_tokio_first makes it the program's first Rust call).
#[lwt_rust::func]
pub async fn tokio_loopback(text: String) -> Result<String, std::io::Error> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let (client, accepted) =
        futures::future::join(tokio::net::TcpStream::connect(address), listener.accept()).await;
    let (mut client, (mut server, _)) = (client?, accepted?);
    client.write_all(text.as_bytes()).await?;
    client.shutdown().await?;
    let mut received = String::new();
    server.read_to_string(&mut received).await?;
    Ok(received)
}
