"""``shopassist chat``: talk to the assistant in the terminal (streamed replies), or run a
scripted conversation (``--say "black sneakers" --say cheaper``)."""

from __future__ import annotations

import sys


def _print_reply(reply, out=sys.stdout) -> None:
    if reply.clarification:
        out.write(f"   options: {' | '.join(reply.clarification.options)} | skip\n")
    for s in reply.products:
        p = s.product
        price = f"${p.price:.2f}" if p.price is not None else "no price"
        out.write(f"   {s.rank}. [{p.id}] {p.title} ({price})\n      why: {s.explanation.text}\n")
    if reply.products:
        out.write(f"   filters: {reply.constraints}   ({reply.price_note})\n")
    if reply.picture and reply.picture.image is not None:
        path = f"shopassist-picture-{reply.turn}.png"
        reply.picture.image.save(path)
        out.write(f"   picture by {reply.picture.backend}: {path}\n")


def _turn(session, text: str, image: str | None) -> None:
    sys.stdout.write(f"you> {text}{f' [{image}]' if image else ''}\nassistant> ")
    turn = session.start(text or None, image)
    for piece in turn.stream():
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")
    _print_reply(turn.finish())


def cmd_chat(args) -> int:
    from assistant.services import load_assistant
    from assistant.settings import Settings

    overrides = {"store_dir": args.store} if args.store else {}
    settings = Settings(**overrides, **({"explanations": "facts"} if args.no_llm else {}))
    assistant = load_assistant(settings)
    session = assistant.new_session(user=args.user)
    for key, value in assistant.status.items():
        print(f"[{key}] {value}")
    if args.say:
        for text in args.say:
            image = None
            if text.startswith("@"):  # "@path/to/photo.jpg rest of message"
                image, _, text = text[1:].partition(" ")
            _turn(session, text, image)
        return 0
    print("Type a request ('@photo.jpg like this but in red' attaches an image; 'like 2' / 'dislike 2'; Ctrl-D quits).")
    for line in sys.stdin:
        text = line.strip()
        words = text.split()
        if len(words) == 2 and words[0] in ("like", "dislike") and words[1].isdigit() and session.shown:
            idx = int(words[1]) - 1
            if 0 <= idx < len(session.shown):
                session.feedback(session.shown[idx].id, liked=words[0] == "like")
                print(f"noted: you {words[0]} {session.shown[idx].title}")
            continue
        image = None
        if text.startswith("@"):
            image, _, text = text[1:].partition(" ")
        _turn(session, text, image)
    return 0


def register(sub) -> None:
    p = sub.add_parser("chat", help="chat with the assistant in the terminal (streamed replies)")
    p.add_argument("--store", help="store folder (default: settings, .store)")
    p.add_argument("--say", action="append", help="a scripted message (repeatable); '@photo.jpg text' attaches an image")
    p.add_argument("--user", help="a user id for the session")
    p.add_argument("--no-llm", action="store_true", help="no LLM: explanations from the checked facts only (fast)")
    p.set_defaults(func=cmd_chat)
