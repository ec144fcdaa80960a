"""A synthetic multi-speaker speech corpus made with TTS (flite, espeak-ng), with true phone timings.

``prepare_synth(out_dir, ...)`` writes::

    out_dir/wav/<spk>/<utt>.wav                 16 kHz, 16-bit, mono
    out_dir/data/{train,test}/{wav.scp,text,utt2spk,spk2utt,spk2gender}
    out_dir/data/{train,test}/phones.ctm        true phone timings (<utt> 1 <start> <dur> <PHONE>)
    out_dir/data/{train,test}/words.ctm         word timings derived from the phone timings
    out_dir/data/local/dict/{lexicon.txt,silence_phones.txt,optional_silence.txt,
                             nonsilence_phones.txt,extra_questions.txt}
    out_dir/speakers.tsv, out_dir/synth_info.json   how each speaker was made, what was done to audio

Phones are ARPAbet, uppercase, without stress (flite's ``ax`` is written ``AH``); pauses are ``SIL``.

Pronunciations come from flite itself (``t2p``, the program that runs flite's lexicon, letter-to-sound
rules and post-lexical rules), so the lexicon is what flite speaks. flite's only post-lexical rule
that touches our words is "the" before a vowel (``DH IY``), so THE has two pronunciations. Every
synthesised utterance is checked: its phone sequence must split into one lexicon pronunciation per
word with optional pauses between words; an utterance that does not is reported and skipped.

Timings:

- flite (voices kal16, awb, rms, slt; ``duration_stretch``, ``int_f0_target_mean``): segment end
  times from ``-psdur``. Audio is 16 kHz already. The diphone voice kal16 stops its waveform in the
  middle of the final pause (flite joins diphone halves up to the middle of the last segment): the
  last SIL is cut (or stretched) to the length of the audio.
- espeak-ng (optional: ``engines=("flite", "espeak")``; en-us, voice variants, ``rate`` words/minute, ``pitch`` 0-99), through libespeak-ng's C
  API with phoneme events. espeak speaks the *lexicon's* phones (phoneme input ``[[...]]``, ARPAbet
  with flite's stress mapped to espeak's en-us mnemonics), so its phone sequence equals the lexicon
  by construction; the returned events are checked phone by phone (allowing espeak's allophones,
  e.g. flapped ``t#``). A phoneme event marks where espeak starts synthesising a phoneme, but
  espeak emits the silent closure of a stop (and the short gap before some word-initial
  consonants) *before* that event: the run of digital silence that ends at a phone's event is
  moved from the previous phone into this one. espeak reports a vowel that follows a nasal or
  liquid only after the vowel's onset transition, so those vowel starts are late by a few tens of ms;
  espeak timings are less exact than flite's (see ``speakers.tsv`` for the engine of each speaker).
  22050 Hz audio is resampled to 16 kHz with ``scipy.signal.resample_poly(x, 320, 441)``.
  Variants with an echo effect (m2, f2-f5, ...) are not used: the echo fills closures.
  espeak folds a liquid before a pause into the preceding vowel (its event gets no duration): such
  utterances are skipped (about 15 % of espeak utterances) and replaced by spare sentences.
  Post-vocalic liquids elsewhere get short (15-50 ms) segments; espeak is therefore off by default.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import random
import shutil
import subprocess
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from hybrid.io import atomic_path, atomic_write

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
SIL = "SIL"

# ~480 common English words (a frequency list), minus homographs whose pronunciation flite picks by
# part of speech (read, lead, wind, record, object, produce, does, multiply, ...) and words that fail
# the in-context check below. Every word here is spoken by flite as its t2p pronunciation.
WORDS: tuple[str, ...] = tuple("""
the of and to in is that it was for on are with as his they be at one have this from or had by but
what some we can out other were all there when up your how said an each she which do their if will
way about many then them would write like so these her long make thing see him two has look more day
could go come did number sound no most people my over know water than call first who may down side
been now find any new work part take get place made where after back little only round man year
came show every good me give our under name very through just form sentence great think say help low
line differ turn cause much mean before move right boy old too same tell set three want air well also
play small end put home hand port large spell add even land here must big high such follow act why
ask men change went light kind off need house picture try us again animal point mother world near
build self earth father head stand own page should country found answer school grow study still learn
plant cover food sun four between state keep eye never last let thought city tree cross farm hard
start might story saw far sea draw left late run while press night real life few north open seem
together next white children begin got walk example ease paper group always music those both mark
often letter until mile river car feet care second book carry took science eat room friend began idea
fish mountain stop once base hear horse cut sure watch color face wood main enough plain girl usual
young ready above ever red list though feel talk bird soon body dog family pose leave song measure
door black short class question happen complete ship area half rock order fire south problem piece
told knew pass since top whole king space heard best hour better true during hundred five remember
step early hold west ground interest reach fast verb sing listen six table travel less morning ten
simple several vowel toward war lay against pattern slow center love person money serve appear road
map rain rule govern pull cold notice voice unit power town fine certain fly fall cry dark machine
note wait plan figure star box noun field rest correct able pound done beauty drive stood contain
front teach week final gave green quick develop ocean warm free strong special behind clear tail fact
street inch nothing course stay wheel full force blue decide surface deep moon island foot system busy
test boat common gold possible plane dry wonder laugh thousand ago ran check game shape yes hot miss
brought heat snow tire bring distant fill east paint language among
""".split())

# Extra pronunciations produced by flite's post-lexical rules (cmu_postlex.c: "the" before a vowel).
POSTLEX_VARIANTS: dict[str, list[list[str]]] = {"the": [["dh", "iy"]]}

# flite / CMUdict phone (lowercase, stress digit stripped) -> our ARPAbet phone
_FLITE_TO_ARPA = {"ax": "AH"}

ARPABET = ("AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW "
           "V W Y Z ZH").split()

# ARPAbet -> espeak-ng en-us phoneme mnemonic (for phoneme input [[...]])
_ARPA_TO_ESPEAK = {
    "AA": "A:", "AE": "a", "AH": "V", "AO": "O:", "AW": "aU", "AY": "aI", "EH": "E", "ER": "3:",
    "EY": "eI", "IH": "I", "IY": "i:", "OW": "oU", "OY": "OI", "UH": "U", "UW": "u:",
    "B": "b", "CH": "tS", "D": "d", "DH": "D", "F": "f", "G": "g", "HH": "h", "JH": "dZ", "K": "k",
    "L": "l", "M": "m", "N": "n", "NG": "N", "P": "p", "R": "r", "S": "s", "SH": "S", "T": "t",
    "TH": "T", "V": "v", "W": "w", "Y": "j", "Z": "z", "ZH": "Z",
}
# unstressed vowels that espeak reduces
_ARPA0_TO_ESPEAK = {"AH": "@", "ER": "3", "IH": "I"}
_ESPEAK_VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}

# espeak voice variants without an echo effect (echo fills stop closures)
ESPEAK_MALE = ("m1", "m3", "m4", "m6", "m7", "travis", "victor")
ESPEAK_FEMALE = ("f1", "Annie", "belinda", "linda", "steph", "aunty")

FLITE_VOICES = {"kal16": "m", "awb": "m", "rms": "m", "slt": "f"}
FLITE_STRETCH = (0.85, 1.0, 1.15, 1.3)
FLITE_F0 = {"m": (90, 110, 130), "f": (150, 180, 210)}
ESPEAK_RATES = (140, 165, 190)
ESPEAK_PITCHES = (35, 50, 65)


# ----------------------------------------------------------------------------------------------
# speakers


@dataclass(frozen=True)
class Speaker:
    """One synthetic speaker: an engine, a voice and a rate/pitch setting."""

    engine: str  # "flite" | "espeak"
    voice: str  # flite voice name, or espeak variant name
    rate: float  # flite duration_stretch (1.0 = normal), or espeak words per minute
    pitch: float  # flite int_f0_target_mean in Hz, or espeak pitch 0-99
    gender: str

    @property
    def spk_id(self) -> str:
        if self.engine == "flite":
            return f"fl_{self.voice}_d{int(round(self.rate * 100)):03d}_f{int(self.pitch):03d}"
        return f"es_{self.voice.lower()}_s{int(self.rate):03d}_p{int(self.pitch):02d}"


def all_speakers(engines: Sequence[str] = ("flite", "espeak")) -> list[Speaker]:
    """Every (engine, voice, rate, pitch) combination this module knows, in a fixed order."""
    spks: list[Speaker] = []
    if "flite" in engines:
        for voice, g in FLITE_VOICES.items():
            for d in FLITE_STRETCH:
                for f0 in FLITE_F0[g]:
                    spks.append(Speaker("flite", voice, d, f0, g))
    if "espeak" in engines:
        for voices, g in ((ESPEAK_MALE, "m"), (ESPEAK_FEMALE, "f")):
            for v in voices:
                for s in ESPEAK_RATES:
                    for p in ESPEAK_PITCHES:
                        spks.append(Speaker("espeak", v, s, p, g))
    return spks


def choose_speakers(num_train: int, num_test: int, seed: int,
                    engines: Sequence[str] = ("flite", "espeak")) -> tuple[list[Speaker], list[Speaker]]:
    """Pick disjoint train/test speakers; voices are spread round-robin over engines and voices.

    Test speakers use (voice, rate, pitch) combinations never used in train; a voice may appear in both
    sets with different settings when there are fewer voices than speakers.
    """
    rng = random.Random(seed)
    pool = all_speakers(engines)
    by_voice: dict[tuple[str, str], list[Speaker]] = {}
    for s in pool:
        by_voice.setdefault((s.engine, s.voice), []).append(s)
    for v in by_voice.values():
        rng.shuffle(v)
    # interleave engines so that a small corpus still gets both
    keys_by_engine: dict[str, list[tuple[str, str]]] = {}
    for k in by_voice:
        keys_by_engine.setdefault(k[0], []).append(k)
    for ks in keys_by_engine.values():
        rng.shuffle(ks)
    order: list[tuple[str, str]] = []
    eng_lists = [keys_by_engine[e] for e in engines if e in keys_by_engine]
    for i in range(max((len(x) for x in eng_lists), default=0)):
        for ks in eng_lists:
            if i < len(ks):
                order.append(ks[i])
    picked: list[Speaker] = []
    need = num_train + num_test
    if need > len(pool):
        raise ValueError(f"asked for {need} speakers, only {len(pool)} combinations exist")
    while len(picked) < need:
        for k in order:
            if by_voice[k] and len(picked) < need:
                picked.append(by_voice[k].pop())
    # test speakers: take from the end of the round-robin list so that both engines appear in test
    test = picked[num_train:]
    train = picked[:num_train]
    return train, test


# ----------------------------------------------------------------------------------------------
# pronunciations


def flite_phone(p: str) -> str:
    """A flite/CMUdict phone (``ae1``, ``ax``, ``pau``) as our ARPAbet symbol (``AE``, ``AH``, ``SIL``)."""
    if p == "pau":
        return SIL
    base = p.rstrip("012")
    return _FLITE_TO_ARPA.get(base, base.upper())


def flite_pronunciations(words: Iterable[str], t2p: str = "t2p") -> dict[str, list[list[str]]]:
    """Stressed flite pronunciations (``["k", "ae1", "t"]``) of each word, from flite's ``t2p``.

    Includes the variants of :data:`POSTLEX_VARIANTS`. Raises RuntimeError naming the word when t2p fails.
    """
    out: dict[str, list[list[str]]] = {}
    for w in words:
        r = subprocess.run([t2p, w], capture_output=True, text=True)
        phones = [p for p in r.stdout.split() if p != "pau"]
        if r.returncode != 0 or not phones:
            raise RuntimeError(f"t2p failed for word {w!r}: rc={r.returncode} {r.stderr.strip()!r}")
        prons = [phones] + [v for v in POSTLEX_VARIANTS.get(w, []) if v != phones]
        out[w] = prons
    return out


def lexicon_prons(stressed: dict[str, list[list[str]]]) -> dict[str, list[list[str]]]:
    """Map stressed flite pronunciations to ARPAbet without stress, deduplicated, per word."""
    lex: dict[str, list[list[str]]] = {}
    for w, prons in stressed.items():
        seen: list[list[str]] = []
        for p in prons:
            q = [flite_phone(x) for x in p]
            if q not in seen:
                seen.append(q)
        lex[w] = seen
    return lex


def segment_words(phones: Sequence[str], words: Sequence[str],
                  lex: dict[str, list[list[str]]]) -> list[tuple[int, int]] | None:
    """Split a phone sequence into one lexicon pronunciation per word, with optional SIL between.

    Returns, per word, the (first, last+1) indices into ``phones``, or None when no split exists.
    """
    n = len(phones)

    def rec(i: int, k: int) -> list[tuple[int, int]] | None:
        while i < n and phones[i] == SIL:
            i += 1
        if k == len(words):
            return [] if i == n else None
        for pron in lex[words[k]]:
            j = i + len(pron)
            if list(phones[i:j]) == pron:
                rest = rec(j, k + 1)
                if rest is not None:
                    return [(i, j)] + rest
        return None

    return rec(0, 0)


def arpa_to_espeak(stressed_pron: Sequence[str]) -> str:
    """A stressed flite pronunciation as an espeak-ng en-us phoneme string (for ``[[...]]`` input)."""
    out = []
    for p in stressed_pron:
        base = flite_phone(p)
        stress = p[-1] if p[-1].isdigit() else ("0" if base in _ESPEAK_VOWELS else "")
        if base in _ESPEAK_VOWELS:
            if stress == "0" and base in _ARPA0_TO_ESPEAK:
                sym = _ARPA0_TO_ESPEAK[base]
            else:
                sym = _ARPA_TO_ESPEAK[base]
            mark = {"1": "'", "2": ","}.get(stress, "")
            out.append(mark + sym)
        else:
            out.append(_ARPA_TO_ESPEAK[base])
    return "".join(out)


# espeak mnemonic (stress marks removed) -> ARPAbet phones it may stand for
def _espeak_phone_ok(name: str, expected: str) -> bool:
    n = name.lstrip("',")
    cands = {_ARPA_TO_ESPEAK[expected]}
    if expected in _ARPA0_TO_ESPEAK:
        cands.add(_ARPA0_TO_ESPEAK[expected])
    if n in cands:
        return True
    # allophones: flapped/glottal t (t#), variants numbered @2 I2 i ..., r- linking, syllabic l
    n2 = n.rstrip("#2:;-")
    return any(n2 == c.rstrip("#2:;-") for c in cands) or (expected == "AH" and n2 in ("@", "V", "a#")) \
        or (expected == "ER" and n2 in ("3", "@", "r")) or (expected == "IY" and n2 == "i") \
        or (expected == "IH" and n2 in ("i", "@", "I")) or (expected == "L" and n2 in ("@L", "L"))


# ----------------------------------------------------------------------------------------------
# synthesis


@dataclass
class UttJob:
    utt: str
    speaker: Speaker
    words: list[str]
    commas: list[int]  # a comma after words[i] for i in commas
    wav_path: str


@dataclass
class UttResult:
    utt: str
    phones: list[tuple[str, float, float]] | None = None  # (phone, start, end) seconds
    words: list[tuple[str, float, float]] | None = None
    duration: float = 0.0
    error: str | None = None


def _text(words: Sequence[str], commas: Sequence[int]) -> str:
    return " ".join(w + ("," if i in commas else "") for i, w in enumerate(words))


def _write_wav(path: str | os.PathLike, x: np.ndarray, sr: int = SAMPLE_RATE) -> None:
    import soundfile as sf

    with atomic_path(path) as tmp:
        sf.write(str(tmp), np.asarray(x, dtype=np.int16), sr, subtype="PCM_16", format="WAV")


def _to_16k(x: np.ndarray, sr: int) -> np.ndarray:
    """Resample int16 audio to 16 kHz with a polyphase filter (scipy), clip to int16."""
    if sr == SAMPLE_RATE:
        return x.astype(np.int16)
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(SAMPLE_RATE, sr)
    y = resample_poly(x.astype(np.float64), SAMPLE_RATE // g, sr // g)
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


def _finish(segs: list[tuple[str, float, float]], duration: float) -> list[tuple[str, float, float]]:
    """Merge adjacent SIL, drop empty segments, make the last segment end at ``duration``."""
    out: list[tuple[str, float, float]] = []
    for p, s, e in segs:
        if e <= s:
            continue
        if out and p == SIL and out[-1][0] == SIL:
            out[-1] = (SIL, out[-1][1], e)
        else:
            out.append((p, s, e))
    if out:
        p, s, e = out[-1]
        if duration > s:
            out[-1] = (p, s, duration)
        elif p == SIL:  # audio ends before the final pause starts: drop it
            out.pop()
            if out:
                out[-1] = (out[-1][0], out[-1][1], min(out[-1][2], duration))
        else:
            out[-1] = (p, s, max(duration, s))
    return out


def _words_from(phones: list[tuple[str, float, float]], words: Sequence[str],
                lex: dict[str, list[list[str]]], utt: str) -> list[tuple[str, float, float]]:
    spans = segment_words([p for p, _, _ in phones], words, lex)
    if spans is None:
        seq = " ".join(p for p, _, _ in phones)
        raise ValueError(f"utterance {utt}: phones [{seq}] do not match the lexicon for '{' '.join(words)}'")
    return [(w, phones[i][1], phones[j - 1][2]) for w, (i, j) in zip(words, spans)]


def synth_flite(job: UttJob, lex: dict[str, list[list[str]]], flite: str = "flite") -> UttResult:
    """Synthesise one utterance with flite; true phone times from ``-psdur``."""
    import soundfile as sf

    spk = job.speaker
    with tempfile.TemporaryDirectory(prefix="synth_") as td:
        raw = os.path.join(td, "out.wav")
        cmd = [flite, "-voice", spk.voice, "--setf", f"duration_stretch={spk.rate}",
               "--setf", f"int_f0_target_mean={spk.pitch}", "-psdur", "-t", _text(job.words, job.commas),
               "-o", raw]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0 or not os.path.exists(raw):
            return UttResult(job.utt, error=f"flite failed (rc={r.returncode}): {r.stderr.strip()[:200]}")
        x, sr = sf.read(raw, dtype="int16")
    if x.ndim > 1:
        x = x[:, 0]
    x = _to_16k(x, sr)
    dur = len(x) / SAMPLE_RATE
    segs: list[tuple[str, float, float]] = []
    t0 = 0.0
    for tok in r.stdout.split():
        name, _, end = tok.rpartition(":")
        try:
            e = float(end)
        except ValueError:
            return UttResult(job.utt, error=f"cannot parse flite -psdur output {tok!r}")
        segs.append((flite_phone(name), t0, e))
        t0 = e
    phones = _finish(segs, dur)
    try:
        words = _words_from(phones, job.words, lex, job.utt)
    except ValueError as err:
        return UttResult(job.utt, error=str(err))
    _write_wav(job.wav_path, x)
    return UttResult(job.utt, phones, words, dur)


class _EspeakEvent(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint),
                ("text_position", ctypes.c_int), ("length", ctypes.c_int),
                ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", ctypes.c_char * 8)]


_ESPEAK_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                              ctypes.POINTER(_EspeakEvent))
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 0x0001
_EVENT_PHONEME = 7
_CHARS_UTF8 = 1
_PHONEMES = 0x100
_POS_CHARACTER = 1
_RATE, _PITCH = 1, 3
_ESPEAK_LINKING = {";", "r-"}
_ESPEAK_MIN_PHONE = 0.005  # seconds


class Espeak:
    """libespeak-ng through ctypes, synchronous, collecting audio and phoneme events (one per process)."""

    _instance: "Espeak | None" = None

    def __init__(self, library: str = "libespeak-ng.so.1") -> None:
        self.lib = ctypes.CDLL(library)
        self.lib.espeak_Initialize.restype = ctypes.c_int
        self.sample_rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None, _INIT_PHONEME_EVENTS)
        if self.sample_rate <= 0:
            raise RuntimeError(f"espeak_Initialize failed ({self.sample_rate})")
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, str]] = []
        self._cb = _ESPEAK_CB(self._callback)  # keep a reference
        self.lib.espeak_SetSynthCallback(self._cb)

    @classmethod
    def get(cls) -> "Espeak":
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def _callback(self, wav, n, events) -> int:
        if wav and n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        i = 0
        while events[i].type != 0:
            ev = events[i]
            if ev.type == _EVENT_PHONEME:
                self._events.append((ev.sample, ev.id.decode("utf-8", "replace")))
            i += 1
        return 0

    def synth(self, text: str, voice: str, rate: int, pitch: int) -> tuple[np.ndarray, list[tuple[int, str]]]:
        """Speak ``text`` (``[[phonemes]]`` allowed); returns int16 samples and (sample, phoneme) events."""
        name = "en-us" if voice in ("", "default") else f"en-us+{voice}"
        if self.lib.espeak_SetVoiceByName(name.encode()) != 0:
            raise RuntimeError(f"espeak-ng has no voice {name!r}")
        self.lib.espeak_SetParameter(_RATE, int(rate), 0)
        self.lib.espeak_SetParameter(_PITCH, int(pitch), 0)
        self._chunks, self._events = [], []
        b = text.encode("utf-8")
        rc = self.lib.espeak_Synth(ctypes.c_char_p(b), len(b) + 1, 0, _POS_CHARACTER, 0,
                                   _CHARS_UTF8 | _PHONEMES, None, None)
        if rc != 0:
            raise RuntimeError(f"espeak_Synth failed ({rc})")
        x = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return x.astype(np.int16), list(self._events)


def _quiet_start(x: np.ndarray, s: int, lo: int, min_run: int) -> int:
    """Start of the run of digital silence (|x| <= 1) ending at sample ``s``, not before ``lo``."""
    j = s
    while j > lo and abs(int(x[j - 1])) <= 1:
        j -= 1
    return j if s - j >= min_run else s


def synth_espeak(job: UttJob, lex: dict[str, list[list[str]]],
                 stressed: dict[str, list[list[str]]]) -> UttResult:
    """Synthesise one utterance with espeak-ng speaking the lexicon's phones; times from phoneme events."""
    spk = job.speaker
    eng = Espeak.get()
    # THE: use the variant flite would use (DH IY before a vowel), so espeak matches flite's choice
    prons: list[list[str]] = []
    for k, w in enumerate(job.words):
        pron = stressed[w][0]
        if w in POSTLEX_VARIANTS and k + 1 < len(job.words):
            nxt = flite_phone(stressed[job.words[k + 1]][0][0])
            if nxt in _ESPEAK_VOWELS:
                pron = POSTLEX_VARIANTS[w][0]
        prons.append(pron)
    text = " ".join(f"[[{arpa_to_espeak(p)}]]" + ("," if i in job.commas else "") for i, p in enumerate(prons))
    try:
        x, events = eng.synth(text, spk.voice, int(spk.rate), int(spk.pitch))
    except RuntimeError as err:
        return UttResult(job.utt, error=str(err))
    sr = eng.sample_rate
    expected = [flite_phone(p) for pron in prons for p in pron]
    # linking sounds espeak inserts between words (";" palatal glide, "r-" linking r) are not phones:
    # their time stays with the previous phone
    events = [(s, n) for s, n in events if n.strip() and n not in _ESPEAK_LINKING]
    ph_events = [(s, n) for s, n in events if not n.startswith("_")]
    if len(ph_events) != len(expected):
        got = " ".join(n for _, n in ph_events)
        return UttResult(job.utt, error=f"espeak spoke {len(ph_events)} phones [{got}], "
                                        f"expected {len(expected)} [{' '.join(expected)}]")
    for (s, n), e in zip(ph_events, expected):
        if not _espeak_phone_ok(n, e):
            return UttResult(job.utt, error=f"espeak phone {n!r} where the lexicon has {e}")
    # segments from event positions; silence events ("_", "_:") become SIL
    bounds: list[tuple[int, str]] = []
    k = 0
    for s, n in events:
        if n.startswith("_"):
            bounds.append((s, SIL))
        else:
            bounds.append((s, expected[k]))
            k += 1
    bounds.sort(key=lambda b: b[0])
    n_samp = len(x)
    starts = [s for s, _ in bounds]
    # move the silent closure before a phone's event into that phone
    min_run = int(0.004 * sr)
    for i in range(1, len(bounds)):
        if bounds[i][1] != SIL and bounds[i - 1][1] != SIL:
            lo = starts[i - 1] + int(0.01 * sr)
            if lo < starts[i] <= n_samp:
                starts[i] = _quiet_start(x, starts[i], lo, min_run)
    segs: list[tuple[str, float, float]] = []
    if starts and starts[0] > 0:
        segs.append((SIL, 0.0, starts[0] / sr))
    for i, (s, p) in enumerate(zip(starts, (b[1] for b in bounds))):
        e = starts[i + 1] if i + 1 < len(starts) else n_samp
        segs.append((p, s / sr, min(e, n_samp) / sr))
    short = [p for p, s, e in segs if p != SIL and e - s < _ESPEAK_MIN_PHONE]
    if short:
        return UttResult(job.utt, error=f"espeak gave phone(s) {' '.join(short)} no duration "
                                        "(a pre-pausal liquid folded into its vowel)")
    y = _to_16k(x, sr)
    dur = len(y) / SAMPLE_RATE
    phones = _finish(segs, dur)
    try:
        words = _words_from(phones, job.words, lex, job.utt)
    except ValueError as err:
        return UttResult(job.utt, error=str(err))
    _write_wav(job.wav_path, y)
    return UttResult(job.utt, phones, words, dur)


_WORKER_LEX: dict = {}


def _init_worker(lex: dict, stressed: dict) -> None:
    _WORKER_LEX["lex"], _WORKER_LEX["stressed"] = lex, stressed


def _run_job(job: UttJob) -> UttResult:
    lex, stressed = _WORKER_LEX["lex"], _WORKER_LEX["stressed"]
    try:
        if job.speaker.engine == "flite":
            return synth_flite(job, lex)
        return synth_espeak(job, lex, stressed)
    except Exception as err:  # a bad utterance is reported and skipped
        return UttResult(job.utt, error=f"{type(err).__name__}: {err}")


# ----------------------------------------------------------------------------------------------
# sentences and the corpus


def make_sentences(words: Sequence[str], n: int, rng: random.Random, min_len: int = 3, max_len: int = 8,
                   comma_prob: float = 0.25) -> list[tuple[list[str], list[int]]]:
    """``n`` distinct random sentences (word list, comma positions) of ``min_len``-``max_len`` words."""
    out: list[tuple[list[str], list[int]]] = []
    seen: set[tuple[str, ...]] = set()
    tries = 0
    while len(out) < n:
        tries += 1
        if tries > 100 * n:
            raise ValueError(f"cannot make {n} distinct sentences from {len(words)} words")
        k = rng.randint(min_len, max_len)
        ws = [rng.choice(words) for _ in range(k)]
        if tuple(ws) in seen:
            continue
        seen.add(tuple(ws))
        commas = [rng.randint(1, k - 3)] if k >= 5 and rng.random() < comma_prob else []
        out.append((ws, commas))
    return out


def _fmt(t: float) -> str:
    return f"{t:.3f}"


def write_ctm(path: str | os.PathLike, segs: dict[str, list[tuple[str, float, float]]]) -> None:
    """Write ``<utt> 1 <start> <dur> <label>`` lines (3 decimals); boundaries are rounded once, so
    consecutive segments stay contiguous."""
    with atomic_write(path) as f:
        for utt in sorted(segs):
            for lab, s, e in segs[utt]:
                s3, e3 = round(s, 3), round(e, 3)
                f.write(f"{utt} 1 {_fmt(s3)} {_fmt(e3 - s3)} {lab}\n")


def write_dict_dir(dict_dir: str | os.PathLike, lex: dict[str, list[list[str]]]) -> None:
    """Kaldi dict dir: lexicon.txt (uppercase words), silence/nonsilence/optional phones, extra_questions."""
    d = Path(dict_dir)
    lines = {"<UNK> SIL"}
    phones: set[str] = set()
    for w, prons in lex.items():
        for p in prons:
            lines.add(f"{w.upper()} {' '.join(p)}")
            phones.update(p)
    with atomic_write(d / "lexicon.txt") as f:
        f.writelines(f"{x}\n" for x in sorted(lines))
    with atomic_write(d / "silence_phones.txt") as f:
        f.write(f"{SIL}\n")
    with atomic_write(d / "optional_silence.txt") as f:
        f.write(f"{SIL}\n")
    with atomic_write(d / "nonsilence_phones.txt") as f:
        f.writelines(f"{p}\n" for p in sorted(phones - {SIL}))
    with atomic_write(d / "extra_questions.txt") as f:
        pass


def _write_data_dir(d: Path, results: list[tuple[UttResult, Speaker, str, str]]) -> None:
    """results: (result, speaker, wav path, transcript)"""
    rows = sorted(results, key=lambda r: r[0].utt)
    spk2utt: dict[str, list[str]] = {}
    for r, spk, _, _ in rows:
        spk2utt.setdefault(spk.spk_id, []).append(r.utt)
    with atomic_write(d / "wav.scp") as f:
        f.writelines(f"{r.utt} {wav}\n" for r, _, wav, _ in rows)
    with atomic_write(d / "text") as f:
        f.writelines(f"{r.utt} {txt}\n" for r, _, _, txt in rows)
    with atomic_write(d / "utt2spk") as f:
        f.writelines(f"{r.utt} {spk.spk_id}\n" for r, spk, _, _ in rows)
    with atomic_write(d / "utt2dur") as f:
        f.writelines(f"{r.utt} {r.duration:.4f}\n" for r, _, _, _ in rows)
    with atomic_write(d / "spk2utt") as f:
        f.writelines(f"{s} {' '.join(u)}\n" for s, u in sorted(spk2utt.items()))
    genders = {spk.spk_id: spk.gender for _, spk, _, _ in rows}
    with atomic_write(d / "spk2gender") as f:
        f.writelines(f"{s} {g}\n" for s, g in sorted(genders.items()))
    write_ctm(d / "phones.ctm", {r.utt: r.phones for r, _, _, _ in rows})
    write_ctm(d / "words.ctm", {r.utt: [(w.upper(), s, e) for w, s, e in r.words] for r, _, _, _ in rows})


def prepare_synth(out_dir: str | os.PathLike, *, num_train_spk: int = 12, num_test_spk: int = 4,
                  utts_per_spk: int = 25, seed: int = 0, words: Sequence[str] | None = None,
                  num_sentences: int = 300, engines: Sequence[str] = ("flite",), nj: int = 2,
                  min_words: int = 3, max_words: int = 8, max_fail_share: float = 0.5) -> dict:
    """Generate the synthetic corpus under ``out_dir`` (layout in the module docstring).

    Sentences: ``num_sentences`` random sentences of ``min_words``-``max_words`` words from ``words``
    (default :data:`WORDS`), split into disjoint train and test pools (test gets a fifth). Each speaker
    reads ``utts_per_spk`` distinct sentences of its pool. Speakers: see :func:`choose_speakers`.
    Each speaker gets ~30 % spare sentences: an utterance that fails (engine error, phone sequence not
    matching the lexicon, espeak phone without duration) is logged and skipped, and the next spare takes
    its place (utterance numbers then have gaps). RuntimeError when a speaker keeps fewer than
    ``max_fail_share`` × ``utts_per_spk`` utterances. Returns a summary dict (also in synth_info.json).
    """
    out = Path(out_dir).resolve()
    engines = tuple(engines)
    for prog in ("flite", "t2p"):
        if shutil.which(prog) is None:
            raise RuntimeError(f"{prog} not found on PATH (the lexicon always comes from flite's t2p)")
    words = list(dict.fromkeys(w.lower() for w in (words if words is not None else WORDS)))
    stressed = flite_pronunciations(words)
    lex = lexicon_prons(stressed)
    rng = random.Random(seed)
    sents = make_sentences(words, num_sentences, rng, min_words, max_words)
    n_test_sents = max(1, num_sentences // 5)
    pools = {"test": sents[:n_test_sents], "train": sents[n_test_sents:]}
    train_spk, test_spk = choose_speakers(num_train_spk, num_test_spk, seed, engines)
    # each speaker gets some spare sentences: an utterance that fails the checks is replaced by the next
    n_cand = utts_per_spk + max(2, (3 * utts_per_spk + 9) // 10)
    jobs: list[tuple[str, UttJob]] = []
    for part, spks in (("train", train_spk), ("test", test_spk)):
        pool = pools[part]
        if utts_per_spk > len(pool):
            raise ValueError(f"utts_per_spk={utts_per_spk} > {len(pool)} {part} sentences; raise num_sentences")
        for spk in spks:
            for i, (ws, commas) in enumerate(rng.sample(pool, min(n_cand, len(pool)))):
                utt = f"{spk.spk_id}-{i + 1:04d}"
                wav = out / "wav" / spk.spk_id / f"{utt}.wav"
                jobs.append((part, UttJob(utt, spk, ws, commas, str(wav))))
    if nj > 1:
        with ProcessPoolExecutor(max_workers=nj, initializer=_init_worker, initargs=(lex, stressed)) as ex:
            results = list(ex.map(_run_job, [j for _, j in jobs], chunksize=4))
    else:
        _init_worker(lex, stressed)
        results = [_run_job(j) for _, j in jobs]
    by_part: dict[str, list[tuple[UttResult, Speaker, str, str]]] = {"train": [], "test": []}
    failed: list[str] = []
    kept: dict[str, int] = {}
    for (part, job), res in zip(jobs, results):
        sid = job.speaker.spk_id
        if res.error is not None:
            log.warning("skipping utterance %s (%s): %s", job.utt, _text(job.words, job.commas), res.error)
            failed.append(f"{job.utt}: {res.error}")
            continue
        if kept.get(sid, 0) >= utts_per_spk:  # a spare that was not needed
            Path(job.wav_path).unlink(missing_ok=True)
            continue
        kept[sid] = kept.get(sid, 0) + 1
        by_part[part].append((res, job.speaker, job.wav_path, " ".join(w.upper() for w in job.words)))
    short = {s.spk_id: kept.get(s.spk_id, 0) for s in train_spk + test_spk if kept.get(s.spk_id, 0) < utts_per_spk}
    if short:
        log.warning("speakers with fewer than %d utterances: %s", utts_per_spk, short)
    if any(n < max_fail_share * utts_per_spk for n in short.values()):
        raise RuntimeError(f"too many failed utterances for speakers {short}; first failures: {failed[:3]}")
    for part, rows in by_part.items():
        _write_data_dir(out / "data" / part, rows)
    write_dict_dir(out / "data" / "local" / "dict", lex)
    with atomic_write(out / "speakers.tsv") as f:
        f.write("speaker\tset\tengine\tvoice\trate\tpitch\tgender\n")
        for part, spks in (("train", train_spk), ("test", test_spk)):
            for s in spks:
                f.write(f"{s.spk_id}\t{part}\t{s.engine}\t{s.voice}\t{s.rate}\t{s.pitch}\t{s.gender}\n")
    info = {
        "seed": seed, "num_words": len(words), "num_sentences": num_sentences,
        "num_utts": {p: len(r) for p, r in by_part.items()},
        "hours": {p: round(sum(r[0].duration for r in rows) / 3600, 4) for p, rows in by_part.items()},
        "failed": failed, "utts_per_speaker": kept,
        "speakers": {"train": [asdict(s) | {"id": s.spk_id} for s in train_spk],
                     "test": [asdict(s) | {"id": s.spk_id} for s in test_spk]},
        "audio": ("16 kHz 16-bit mono PCM WAV; flite voices kal16/awb/rms/slt output 16 kHz (not resampled); "
                  "espeak-ng outputs 22050 Hz, resampled with scipy.signal.resample_poly(x, 320, 441)"),
        "flite_rate": "duration_stretch (1.0 normal, >1 slower)", "flite_pitch": "int_f0_target_mean (Hz)",
        "espeak_rate": "words per minute (espeakRATE)", "espeak_pitch": "espeakPITCH 0-99",
    }
    with atomic_write(out / "synth_info.json") as f:
        json.dump(info, f, indent=1)
    log.info("synthetic corpus in %s: %s utterances, %d failed", out, info["num_utts"], len(failed))
    return info
