"""The TwiML we answer with: the voice menu, routing to a desk, the survey call, SMS acks.

URLs in TwiML are absolute under PUBLIC_BASE_URL when it is set (so a path prefix on the
proxy survives), else relative to this app, which Twilio resolves against the URL it
called.
"""

from urllib.parse import urlencode

from flask import has_request_context, request
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from hotline.channels.settings import desk_dial_target, desk_queue_name, public_base_url, setting
from hotline.tickets.models import Desk

# Twilio's default <Say> voice is not documented for Chinese: name a Mandarin one. Amazon
# Polly's Zhiyu speaks `cmn-CN` (Twilio lists it as Polly.Zhiyu); a <Gather> that only takes
# keys still says its language, in the tag Twilio's speech recognition accepts for Mandarin.
DEFAULT_VOICE = "Polly.Zhiyu"
DEFAULT_VOICE_LANGUAGE = "cmn-CN"
DEFAULT_GATHER_LANGUAGE = "cmn-Hans-CN"
MENU_ATTEMPTS = 3          # the menu is said this often before the caller goes to the general desk
GATHER_TIMEOUT = 6         # seconds Twilio waits for a key
SURVEY_ATTEMPTS = 2        # a wrong key on a survey call: asked once more

MENU_KEYS = {"1": Desk.GENERAL, "2": Desk.CHILDREN, "3": Desk.HARD_CASE}
DESK_NAMES = {Desk.GENERAL: "综合服务坐席", Desk.CHILDREN: "儿童服务专席", Desk.HARD_CASE: "办不成事反映专席"}

GREETING = "您好，这里是12345政务服务便民热线。"
MENU = ("咨询、求助、投诉、举报、建议，请按1；"
        "儿童服务专席，请按2；"
        "反映办不成事，请按3。")
INVALID = "您的输入有误。"
CONNECTING = "正在为您转接{desk}，请稍候。"
CONNECTED = "正在为您接通坐席。"
WHISPER = "12345来电，{desk}。"
QUEUE_FAILED = ("很抱歉，坐席暂时全忙，请稍后再拨。您也可以直接发送短信到本号码反映问题，"
                "我们会为您登记工单并短信告知工单号。")
RATE_LIMITED = "您的来电过于频繁，请稍后再拨。"
SORRY = "很抱歉，系统暂时出现故障，请稍后再拨12345。"

SURVEY = ("您好，这里是12345热线回访。您反映的问题，工单尾号{number}，已办理完毕。"
          "满意请按1，基本满意请按2，不满意请按3。")
SURVEY_THANKS = "感谢您的评价，再见。"
SURVEY_NO_ANSWER = "未收到您的按键。如需反映问题，请拨打12345。再见。"
SURVEY_INVALID = "您的输入有误。"


def speech() -> dict[str, str]:
    """The voice and language of every <Say> (TWILIO_VOICE, TWILIO_VOICE_LANGUAGE)."""
    return {"voice": setting("TWILIO_VOICE", DEFAULT_VOICE),
            "language": setting("TWILIO_VOICE_LANGUAGE", DEFAULT_VOICE_LANGUAGE)}


def keys() -> dict[str, str]:
    """A <Gather> for keys only, in Mandarin (TWILIO_GATHER_LANGUAGE)."""
    return {"input": "dtmf", "language": setting("TWILIO_GATHER_LANGUAGE", DEFAULT_GATHER_LANGUAGE)}


def url(path: str, **query) -> str:
    """`path` of this app as Twilio should request it."""
    base = public_base_url()
    if base is None:
        base = request.script_root if has_request_context() else ""
    return base + path + (f"?{urlencode(query)}" if query else "")


def menu(attempt: int = 1, invalid: bool = False) -> VoiceResponse:
    response = VoiceResponse()
    gather = response.gather(num_digits=1, action=url("/twilio/voice/gather", attempt=attempt),
                             method="POST", timeout=GATHER_TIMEOUT, action_on_empty_result=True,
                             **keys())
    gather.say((INVALID if invalid else GREETING if attempt == 1 else "") + MENU, **speech())
    return response


def route_to_desk(desk: Desk, call_sid: str, *, dial: bool = True) -> VoiceResponse:
    """To the desk's configured number (`<Dial>`), or into its Twilio queue (`<Enqueue>`)."""
    response = VoiceResponse()
    response.say(CONNECTING.format(desk=DESK_NAMES[desk]), **speech())
    target = desk_dial_target(desk) if dial else None
    if target:
        dialed = response.dial(action=url("/twilio/voice/after", desk=desk.value), method="POST")
        whisper = url("/twilio/voice/connect", call=call_sid)
        if target.startswith("sip:"):
            dialed.sip(target, url=whisper)
        else:
            dialed.number(target, url=whisper)
    else:
        response.enqueue(desk_queue_name(desk), action=url("/twilio/voice/after", desk=desk.value),
                         method="POST")
    return response


def connected(whisper_desk: Desk | None = None) -> VoiceResponse:
    """Said just before the bridge: to the caller from the queue, or to the seat on a dial."""
    response = VoiceResponse()
    if whisper_desk is not None:
        response.say(WHISPER.format(desk=DESK_NAMES[whisper_desk]), **speech())
    else:
        response.say(CONNECTED, **speech())
    return response


def queue_failed() -> VoiceResponse:
    response = VoiceResponse()
    response.say(QUEUE_FAILED, **speech())
    response.hangup()
    return response


def sorry() -> VoiceResponse:
    """Something failed inside a voice webhook: an apology, never Twilio's generic error."""
    return said(SORRY)


def hangup() -> VoiceResponse:
    response = VoiceResponse()
    response.hangup()
    return response


def rate_limited_voice() -> VoiceResponse:
    response = VoiceResponse()
    response.say(RATE_LIMITED, **speech())
    response.hangup()
    return response


def empty_messaging() -> MessagingResponse:
    """An SMS webhook's answer: nothing to send now (replies go through the outbox)."""
    return MessagingResponse()


def empty_voice() -> VoiceResponse:
    return VoiceResponse()


def survey_call(ticket_id: int, cycle: int, number: str, attempt: int = 1,
                invalid: bool = False) -> VoiceResponse:
    """The TwiML of an outbound satisfaction-survey call (回访): 1/2/3 into `/twilio/voice/survey`."""
    response = VoiceResponse()
    gather = response.gather(
        num_digits=1, method="POST", timeout=8, **keys(),
        action=url("/twilio/voice/survey", ticket=ticket_id, cycle=cycle, attempt=attempt))
    gather.say((SURVEY_INVALID if invalid else "") + SURVEY.format(number=_spoken(number)),
               **speech())
    response.say(SURVEY_NO_ANSWER, **speech())
    return response


def survey_thanks() -> VoiceResponse:
    return said(SURVEY_THANKS)


def said(text: str, *, hang_up: bool = True) -> VoiceResponse:
    response = VoiceResponse()
    response.say(text, **speech())
    if hang_up:
        response.hangup()
    return response


def _spoken(number: str) -> str:
    """The tail of 12345-20261123-000042, digit by digit: "0 0 0 0 4 2"."""
    return " ".join(number.rsplit("-", 1)[-1])
