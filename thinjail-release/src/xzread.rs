//! xz decoding on a separate thread, handing decoded chunks to the consumer through a bounded
//! channel, so decoding overlaps with writing files. With [`DecodeMode::Parallel`] liblzma's
//! multithreaded decoder (`lzma_stream_decoder_mt`) decodes the blocks of a multi-block stream
//! (as `xz -T2` or more writes) on several threads; a single-block stream decodes on one.

use std::io::{self, BufReader, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

const CHUNK: usize = 1 << 20;
const QUEUE: usize = 8;

/// How to decode an xz stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DecodeMode {
    /// Multithreaded liblzma decoder with one worker per available CPU (default).
    #[default]
    Parallel,
    /// Multithreaded decoder with this many workers.
    Threads(u32),
    /// Single-threaded decoder (still on a separate thread from the consumer).
    Single,
}

impl DecodeMode {
    fn stream(self) -> io::Result<liblzma::stream::Stream> {
        let threads = match self {
            DecodeMode::Single => {
                return liblzma::stream::Stream::new_stream_decoder(u64::MAX, 0)
                    .map_err(io::Error::other);
            }
            DecodeMode::Threads(n) => n.max(1),
            DecodeMode::Parallel => std::thread::available_parallelism()
                .map(|n| n.get() as u32)
                .unwrap_or(1),
        };
        liblzma::stream::MtStreamBuilder::new()
            .threads(threads)
            // Enough for several 8-64 MiB blocks per thread; the limit only reduces threads.
            .memlimit_threading(1 << 30)
            .memlimit_stop(u64::MAX)
            .timeout_ms(0)
            .decoder()
            .map_err(io::Error::other)
    }
}

type Msg = io::Result<Vec<u8>>;

/// A `Read` of the decoded bytes of an xz stream that is decoded on a background thread.
///
/// ```
/// use std::io::{Read, Write};
/// use thinjail_release::{DecodeMode, XzChunkReader};
/// let mut enc = liblzma::write::XzEncoder::new(Vec::new(), 1);
/// enc.write_all(b"hello").unwrap();
/// let xz = enc.finish().unwrap();
/// let mut r = XzChunkReader::spawn(std::io::Cursor::new(xz), DecodeMode::Parallel).unwrap();
/// let mut s = String::new();
/// r.read_to_string(&mut s).unwrap();
/// assert_eq!(s, "hello");
/// ```
pub struct XzChunkReader {
    rx: Receiver<Msg>,
    recycle: SyncSender<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
    done: bool,
    thread: Option<JoinHandle<()>>,
}

impl XzChunkReader {
    /// Starts decoding `input` on a new thread.
    pub fn spawn<R: Read + Send + 'static>(input: R, mode: DecodeMode) -> io::Result<Self> {
        let stream = mode.stream()?;
        let (tx, rx) = sync_channel::<Msg>(QUEUE);
        let (recycle, recycled) = sync_channel::<Vec<u8>>(QUEUE + 2);
        let thread = std::thread::Builder::new()
            .name("xz-decode".into())
            .spawn(move || {
                let mut dec = liblzma::bufread::XzDecoder::new_stream(
                    BufReader::with_capacity(CHUNK, input),
                    stream,
                );
                loop {
                    let mut buf = recycled.try_recv().unwrap_or_default();
                    buf.resize(CHUNK, 0);
                    let mut filled = 0;
                    let res = loop {
                        match dec.read(&mut buf[filled..]) {
                            Ok(0) => break Ok(()),
                            Ok(n) => {
                                filled += n;
                                if filled == buf.len() {
                                    break Ok(());
                                }
                            }
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(e) => break Err(e),
                        }
                    };
                    buf.truncate(filled);
                    let eof = filled < CHUNK;
                    if filled > 0 && tx.send(Ok(buf)).is_err() {
                        return;
                    }
                    if let Err(e) = res {
                        let _ = tx.send(Err(e));
                        return;
                    }
                    if eof {
                        return;
                    }
                }
            })?;
        Ok(XzChunkReader {
            rx,
            recycle,
            cur: Vec::new(),
            pos: 0,
            done: false,
            thread: Some(thread),
        })
    }

    fn refill(&mut self) -> io::Result<bool> {
        if self.done {
            return Ok(false);
        }
        match self.rx.recv() {
            Ok(Ok(buf)) => {
                let old = std::mem::replace(&mut self.cur, buf);
                let _ = self.recycle.try_send(old);
                self.pos = 0;
                Ok(true)
            }
            Ok(Err(e)) => {
                self.done = true;
                Err(e)
            }
            Err(_) => {
                self.done = true;
                Ok(false)
            }
        }
    }
}

impl Read for XzChunkReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.cur.len() {
            if !self.refill()? {
                return Ok(0);
            }
        }
        let n = out.len().min(self.cur.len() - self.pos);
        out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Drop for XzChunkReader {
    fn drop(&mut self) {
        // Unblock the decoder thread (its send fails once rx is gone) and wait for it.
        let (_, dead) = sync_channel::<Msg>(0);
        drop(std::mem::replace(&mut self.rx, dead));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
