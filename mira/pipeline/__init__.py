"""The audio pipeline: what happens to an utterance after its upload, in order.

`analysis.analyze` (job kind `analyze`) runs the stages, each timed into the job:

1. decode      `audio.sandbox.decode_configured` (bounded, in the memory-capped helper)
2. quality     `audio.quality.measure`, and the stream score of the client
3. denoise     `audio.denoise`
4. VAD         `audio.vad.find_speech` (no speech: the job ends here)
5. dedup       `streams.services` arbitration: of copies heard by several microphones, the
               best one goes on, the others end `superseded`
6. speakers    `audio.embedding`, `audio.diarize`, the decision in `persons.voices`
7. transcribe  `speech` engines (Whisper offline)
8. filing      `conversations.filing`: the conversation the interaction belongs to
9. reaction    `reaction.react`: the wake word and commands, actions, memories

Stages 1, 3 and 4 are one function, `hearing.hear`, that every job hearing a stored upload
calls (the analysis runs its quality stage between decoding and denoising).

Voice enrolment (`enrollment.run`, kind `enroll`) runs 1, 3, 4 and the speaker
embedding; `reaction.react_job` (kind `inference`, the API contract's name for the reaction)
runs 9 on a typed interaction or on request; `voice.run_voice_command` (kind `voice`) answers
a spoken command as Server-Sent Events. The job runner maps each kind straight to its function
(`jobs/runner.py`).
"""
