"""Chat and HTTP targets: what a ``notify:`` delivery sends and how the answer is read.

``kinds/`` holds one small module per target kind (Slack, Teams, Discord, WeCom, DingTalk,
Feishu, Telegram, any HTTP endpoint), each building the service's native message and
classifying its answer; ``message.py`` says what happened in one glance, whatever the kind;
``render.py`` turns a route, a target and an event into the exact request; ``client.py``
sends it over ``requests``, paced under each service's rate limit; ``alerts.py`` announces
failed and stuck deliveries. The dispatcher treats a notify delivery like a GitHub dispatch:
same claim, attempt, retry, dead letter and replay.
"""
