"""What the demo's people write: the accounts' own posts (and the violations planted among officers' posts),
what the public writes by topic and language with the answers that fit, and the follow-ups to answers."""

from __future__ import annotations

STREETS = ("Queen St W", "Danforth Ave", "Kingston Rd", "Bloor St W", "Rue Saint-Denis", "Jane St", "Lakeshore Blvd")
PLACES = ("Riverdale Park", "the community centre", "Union Station", "Dufferin Mall", "the public library")
DAYS = (("Saturday", "samedi"), ("Sunday", "dimanche"), ("Friday", "vendredi"))

OWN_POSTS: dict[str, tuple[str, ...]] = {
    "en": (
        "Join {unit} officers at {place} this {day} from 10 to 2 for a community barbecue. Everyone welcome! "
        "#CommunityPolicing",
        "ROAD CLOSURE: {street} is closed in both directions due to a collision. Please use alternate routes "
        "and expect delays. #MPSTraffic",
        "MISSING: {missing}, 14, last seen near {place} on {day} evening, wearing a blue jacket and white "
        "sneakers. Anyone with information please call 555-0142.",
        "UPDATE: {missing}, reported missing on {day}, has been located safe. Thank you for sharing.",
        "Lock it or lose it: most thefts from vehicles happen to unlocked cars. Take your valuables with you. "
        "#CrimePrevention",
        "Scam alert: police will never ask you to pay a fine in gift cards. Hang up and call us. #FraudPrevention",
        "Thank you to everyone who came out to Coffee with a Cop at {place} today. See you next month!",
        "Heavy police presence on {street} for an ongoing investigation. No risk to public safety.",
    ),
    "fr": (
        "FERMETURE : la rue {street} est fermée dans les deux sens en raison d'une collision. Merci "
        "d'emprunter un autre trajet.",
        "Conseil de prévention : verrouillez votre vélo avec un cadenas en U, même pour quelques minutes.",
        "Venez rencontrer les agents de {unit} au centre communautaire ce {day_fr} de 10 h à 14 h. Bienvenue !",
    ),
}

# Officers' posts that break the starter policy (policies/starter_policy.json), so the review queue of the
# demo has something to review: personal information, operational details, endorsements, outside links.
PLANTED_VIOLATIONS: tuple[str, ...] = (
    "Arrest made in the break-ins on {street}. Suspect born 1988-04-12, lives at 42 Maple Ave. "
    "Occurrence MPS-2026-004512.",
    "Stolen car recovered, plate CKRT 482. The owner can reach me directly at 416-555-2368.",
    "Lunch break at Tony's Pizza on {street}, best slice in the city! Tell them the officers sent you "
    "https://tonys-pizza.example.com/deal",
    "Heads up: the search warrant on {street} goes in tomorrow morning, undercover team is already in place.",
    "Questions about the collision on {street}? Email me at constable.doe@gmail.com",
)


# topic -> language -> (what the public writes, the answers that fit it); answers may use {first}.
Exchange = tuple[str, tuple[str, ...]]
THANKS_EN = ("Thank you, {first}! Have a great day.", "Thanks {first}, we appreciate the kind words.")
REPORT_EN = (
    "Sorry to hear that, {first}. Please report it at metropolice.example/report or on the non-emergency line "
    "so it is on record. If anyone is in danger, call 911."
)
REPORT_FR = (
    "Désolés, {first}. Faites une déclaration sur metropolice.example/signaler ou à la ligne non urgente. "
    "Si quelqu'un est en danger, composez le 911."
)
PASS_ON_EN = ("Thank you for letting us know, {first}. We'll pass this on to the officers involved.",)
INBOUND: dict[str, dict[str, tuple[Exchange, ...]]] = {
    "greeting": {
        "en": (
            ("Good morning! Thanks for everything you do 👮", THANKS_EN),
            ("Great to see officers walking the beat on {street}.", THANKS_EN),
        ),
        "fr": (
            (
                "Bonjour et merci pour votre présence au parc ce week-end !",
                ("Merci beaucoup, {first} ! Bonne journée.",),
            ),
        ),
    },
    "thanks": {
        "en": (
            ("Huge thanks to the officers who helped my mother after her fall on {street} yesterday.", PASS_ON_EN),
            ("Shout out to the constable who found my son's bike. You made his week!", PASS_ON_EN),
        ),
        "fr": (("Merci aux agents qui ont aidé mon père hier soir, rue {street}.", ("Merci {first}, on transmet !",)),),
    },
    "question": {
        "en": (
            (
                "Is the station open on Sunday? I need to pick up a police record check.",
                ("Hi {first}, the front counter is open 24/7, Sundays included. Please bring photo ID.",),
            ),
            (
                "How do I report a stolen bike online?",
                ("Hi {first}, report it at metropolice.example/report. Keep the serial number handy.",),
            ),
            (
                "Are you hiring cadets this year?",
                ("Hi {first}, recruitment details are at metropolice.example/careers. Good luck!",),
            ),
            (
                "Is {street} open again after this morning's closure?",
                ("Hi {first}, yes: all lanes reopened at noon. Thanks for your patience.",),
            ),
        ),
        "fr": (
            (
                "Est-ce que le poste est ouvert le dimanche ?",
                ("Bonjour {first}, oui : le comptoir est ouvert 24 h sur 24, dimanche compris.",),
            ),
            (
                "Comment signaler un vol de vélo en ligne ?",
                ("Bonjour {first}, rendez-vous sur metropolice.example/signaler, numéro de série en main.",),
            ),
            (
                "Bonjour, où peut-on récupérer un objet trouvé ?",
                ("Bonjour {first}, au comptoir du poste, avec une pièce d'identité.",),
            ),
        ),
    },
    "complaint": {
        "en": (
            (
                "Cars speed down {street} every night and nobody does anything. When will you enforce the limit?",
                ("Thanks for flagging this, {first}. We've passed it to our traffic team for enforcement.",),
            ),
            (
                "Waited 40 minutes on hold on the non-emergency line. Not acceptable.",
                ("Sorry about the wait, {first}. Non-emergency reports can also be made online.",),
            ),
            (
                "Why were there five cruisers parked on {street} for an hour?? Waste of our taxes.",
                ("Hi {first}, officers were assisting at a serious collision. Thanks for your patience.",),
            ),
        ),
        "fr": (
            (
                "Encore des voitures stationnées sur la piste cyclable rue {street}. Vous faites quoi ?",
                ("Merci du signalement, {first}. Nous transmettons à l'équipe de la circulation.",),
            ),
        ),
    },
    "crime": {
        "en": (
            (
                "My bike was stolen from outside the library on {street} last night. Serial number is on file.",
                (REPORT_EN,),
            ),
            ("Someone broke into my car on {street} overnight and took my laptop.", (REPORT_EN,)),
            (
                "I got scammed by someone pretending to be from my bank, lost $900. Where do I report this?",
                (REPORT_EN,),
            ),
        ),
        "fr": (
            ("On m'a volé mon vélo devant la bibliothèque, rue {street}, hier soir.", (REPORT_FR,)),
            ("Ma voiture a été vandalisée cette nuit rue {street}, vitre cassée.", (REPORT_FR,)),
        ),
    },
    "urgent": {
        "en": (
            (
                "Someone is breaking into my car right now on {street}!!",
                ("{first}, please call 911 right now and do not approach. This account is not monitored 24/7.",),
            ),
            (
                "there's a man with a knife outside the shop on {street}, please send someone",
                ("{first}, call 911 now. This account is not monitored 24/7.",),
            ),
            (
                "a little boy has been missing for an hour near the park on {street}, red jacket",
                ("{first}, please call 911 immediately with his description.",),
            ),
            (
                "my neighbour on {street} is screaming and I hear things smashing",
                ("{first}, please call 911 now. This account is not monitored 24/7.",),
            ),
            (
                "There's a guy trying car door handles on {street}, what do I do?",
                ("{first}, please call 911 now with a description. Do not confront him.",),
            ),
        ),
        "fr": (
            (
                "Quelqu'un est en train d'entrer par effraction dans ma voiture, rue {street} !",
                ("{first}, appelez le 911 immédiatement et n'intervenez pas vous-même.",),
            ),
            (
                "Ma fille de 8 ans a disparu au parc de la rue {street} depuis une heure",
                ("{first}, appelez le 911 immédiatement avec sa description.",),
            ),
        ),
    },
    "hostile": {
        "en": (
            ("<script>alert('chorus')</script> is anyone reading this?", ()),
            ("Check <img src=x onerror=alert(1)> this", ()),
        ),
    },
}
TOPICS = (
    ("greeting", 3), ("thanks", 2), ("question", 6), ("complaint", 3), ("crime", 1.5), ("urgent", 1), ("hostile", 0.4)
)  # fmt: skip
ANSWER_SHARE = {
    "greeting": 0.5, "thanks": 0.6, "question": 0.8, "complaint": 0.5, "crime": 0.85, "urgent": 0.95, "hostile": 0.0
}  # fmt: skip
FOLLOW_UPS = {
    "en": ("Thank you!", "Thanks for the quick answer 🙏", "Still waiting for a real fix…", "👍"),
    "fr": ("Merci !", "Merci pour la réponse rapide."),
}
