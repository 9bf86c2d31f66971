"""/send with SEND_CONFIRMATION off: parsing, the guided flow, and what reaches the gateway."""

from __future__ import annotations

from tests.bot.conftest import ADMIN, PHONE, SENDER, BotHarness, HarnessFactory, buttons, plain


async def test_one_line_sends_at_once(harness: BotHarness) -> None:
    reply = await harness.say(ADMIN, f"/send {PHONE} Server is down")

    assert plain(reply) == (
        "✅ #1 отправлено через smsrent на +79123456789\nID шлюза: 100001\nОстаток: 499 SMS"
    )
    assert buttons(reply) == []
    [request] = harness.gateways.requests_for("smsrent")
    assert (request.form["to"], request.form["msg"], request.form["sender"]) == (
        PHONE,
        "Server is down",
        SENDER,
    )
    assert harness.requests("smska") == 0
    await harness.settle()
    record = await harness.core.store.messages.get(1)
    assert record is not None
    assert (record.state, record.provider, record.gateway_id) == ("sent", "smsrent", "100001")
    assert (record.user_id, record.chat_id, record.reply_message_id) == (
        ADMIN,
        ADMIN,
        reply.message_id,
    )


async def test_text_spanning_lines_arrives_intact(harness: BotHarness) -> None:
    await harness.say(ADMIN, f"/send {PHONE} line1\nline2\n\nline4  end")
    await harness.say(ADMIN, f"/send smska {PHONE}\nfirst line\n  indented second")

    assert [r.form["msg"] for r in harness.gateways.requests_for("smsrent")] == [
        "line1\nline2\n\nline4  end"
    ]
    assert [r.form["Message"] for r in harness.gateways.requests_for("smska")] == [
        "first line\n  indented second"
    ]


async def test_markup_and_emoji_arrive_intact_and_are_shown_escaped(harness: BotHarness) -> None:
    text = "Tom & Jerry <b>bold</b> <a 🙂 &amp;"

    reply = await harness.say(ADMIN, f"/send smska {PHONE} {text}")
    assert "#1 отправлено через smska" in plain(reply)
    history = await harness.say(ADMIN, "/history")

    assert [r.form["Message"] for r in harness.gateways.requests_for("smska")] == [text]
    assert "Tom &amp; Jerry &lt;b&gt;bold&lt;/b&gt; &lt;a 🙂 &amp;amp;" in history.text
    assert text in plain(history)
    assert [c.status for c in harness.api.calls_of("sendMessage")] == [200, 200]


async def test_gateway_named_first_is_used(harness: BotHarness) -> None:
    via_rent = await harness.say(ADMIN, f"/send smsrent {PHONE} text one")
    via_ska = await harness.say(ADMIN, f"/send SMSKA {PHONE} text two")

    assert "через smsrent" in plain(via_rent)
    assert "через smska" in plain(via_ska)
    assert [r.form["msg"] for r in harness.gateways.requests_for("smsrent")] == ["text one"]
    assert [r.form["Message"] for r in harness.gateways.requests_for("smska")] == ["text two"]


async def test_invalid_phone_is_refused_clearly(harness: BotHarness) -> None:
    reply = await harness.say(ADMIN, "/send 12345 hi")

    assert plain(reply) == (
        "❌ «12345» — не номер телефона. Российские номера можно писать как 79123456789, "
        "+7 912 345-67-89 или 8 912 345 67 89; другие страны — с кодом страны.\n"
        "Ничего не отправлено."
    )
    await harness.settle()
    assert harness.requests("smsrent") == harness.requests("smska") == 0
    assert await harness.core.store.messages.get(1) is None


async def test_unknown_gateway_word_is_not_a_phone(harness: BotHarness) -> None:
    reply = await harness.say(ADMIN, "/send nosuch 79123456789 hi")

    assert "Ничего не отправлено." in plain(reply)
    await harness.settle()
    assert harness.requests("smsrent") == harness.requests("smska") == 0


async def test_number_without_text_asks_for_the_text(harness: BotHarness) -> None:
    asked = await harness.say(ADMIN, "/send smska 8 912 345 67 89")
    assert plain(asked) == "Номер: +79123456789. Теперь пришлите текст сообщения."
    assert harness.requests("smska") == 0

    reply = await harness.say(ADMIN, "the text\nin two lines")

    assert "#1 отправлено через smska на +79123456789" in plain(reply)
    [request] = harness.gateways.requests_for("smska")
    assert (request.form["MSISDN"], request.form["Message"]) == (PHONE, "the text\nin two lines")


async def test_guided_flow(harness: BotHarness) -> None:
    ask = await harness.say(ADMIN, "/send")
    assert plain(ask).startswith("Кому отправить?")

    bad = await harness.say(ADMIN, "not a number")
    assert "не номер телефона" in plain(bad)
    assert "Ничего не отправлено." in plain(bad)
    bad_again = await harness.say(ADMIN, "12345")
    assert "«12345»" in plain(bad_again)

    good = await harness.say(ADMIN, "+7 912 345-67-89")
    assert plain(good) == "Номер: +79123456789. Теперь пришлите текст сообщения."
    assert harness.requests("smsrent") == 0

    sent = await harness.say(ADMIN, "Привет из пошагового ввода")
    assert "#1 отправлено через smsrent на +79123456789" in plain(sent)
    assert [r.form["msg"] for r in harness.gateways.requests_for("smsrent")] == [
        "Привет из пошагового ввода"
    ]
    # the flow is over: the next text is not sent anywhere
    after = await harness.say(ADMIN, "one more")
    assert plain(after).startswith("Я отправляю SMS. Чтобы отправить, напишите команду")
    assert harness.requests("smsrent") == 1


async def test_guided_flow_ends_in_a_preview_with_confirmation(start_bot: HarnessFactory) -> None:
    harness = await start_bot(send_confirmation=True)
    await harness.say(ADMIN, "/send smska")
    await harness.say(ADMIN, PHONE)

    preview = await harness.say(ADMIN, "flow text")

    assert "Шлюз: smska" in plain(preview)
    assert "Кому: +79123456789" in plain(preview)
    assert len(buttons(preview)) == 2
    await harness.settle()
    assert harness.requests("smska") == 0


async def test_cancel_stops_the_flow(harness: BotHarness) -> None:
    await harness.say(ADMIN, "/send")
    cancelled = await harness.say(ADMIN, "/cancel")
    assert plain(cancelled) == "Отменено."

    after = await harness.say(ADMIN, PHONE)
    assert plain(after).startswith("Я отправляю SMS. Чтобы отправить, напишите команду")

    await harness.say(ADMIN, f"/send {PHONE}")
    cancelled_text = await harness.say(ADMIN, "/cancel")
    assert plain(cancelled_text) == "Отменено."
    stray = await harness.say(ADMIN, "this must not be sent")
    assert plain(stray).startswith("Я отправляю SMS. Чтобы отправить, напишите команду")
    nothing = await harness.say(ADMIN, "/cancel")
    assert plain(nothing) == "Нечего отменять."

    await harness.settle()
    assert harness.requests("smsrent") == harness.requests("smska") == 0
    assert await harness.core.store.messages.get(1) is None


# ------------------------------------------- numbers, gateways and bad characters


async def _nothing_sent(harness: BotHarness) -> None:
    await harness.settle()
    assert harness.gateways.requests == []
    assert await harness.core.store.messages.get(1) is None


async def test_number_with_spaces_that_reads_two_ways_is_refused(harness: BotHarness) -> None:
    reply = await harness.say(ADMIN, "/send +49 30 1234567 8 servers down")
    english = await harness.say(ADMIN, "/send +39 06 1234567 8 servers down", lang="en")

    assert plain(reply) == (
        "❌ «+49 30 1234567 8» можно прочитать как разные номера: +49301234567 или "
        "+493012345678. Напишите номер без пробелов, а если текст начинается с цифр, "
        "начните его с новой строки.\nНичего не отправлено."
    )
    assert "+39061234567 or +390612345678" in plain(english)
    assert "Write the number without spaces" in plain(english)
    await _nothing_sent(harness)
    # Written without spaces, it goes.
    sent = await harness.say(ADMIN, "/send +493012345678 servers down")
    assert "#1 отправлено через smsrent на +493012345678" in plain(sent)


async def test_premium_rate_number_is_refused(harness: BotHarness) -> None:
    reply = await harness.say(ADMIN, "/send +7 809 123-45-67 hi")
    english = await harness.say(ADMIN, "/send 1 900 234 5678 hi", lang="en")
    toll_free = await harness.say(ADMIN, "/send 8 800 123 45 67")

    assert plain(reply) == (
        "❌ +78091234567 — номер с повышенной оплатой: SMS на такие номера не отправляются "
        "(они стоят дороже и часто используются для мошенничества).\nНичего не отправлено."
    )
    assert plain(english) == (
        "❌ +19002345678 is a premium-rate number: SMS to it are refused "
        "(they cost extra and are a common fraud).\nNothing was sent."
    )
    assert "+78001234567 — бесплатный для звонящего номер" in plain(toll_free)
    await _nothing_sent(harness)


async def test_allowed_countries_apply_to_every_way_of_sending(
    start_bot: HarnessFactory,
) -> None:
    harness = await start_bot(allowed_countries=["RU", "KZ"])
    refusal = (
        "❌ +4930901820 — номер из страны «Германия»: SMS можно отправлять только в страны: "
        "Казахстан, Россия (настройка ALLOWED_COUNTRIES).\nНичего не отправлено."
    )

    # the first refusal may wait for the country names to load (seconds without bytecode)
    one_line = await harness.say(ADMIN, "/send +49 30 901820 hi", timeout=30)
    no_text = await harness.say(ADMIN, "/send +49 30 901820")
    await harness.say(ADMIN, "/send")
    guided = await harness.say(ADMIN, "+49 30 901820")
    english = await harness.say(ADMIN, "/send +4930901820 hi", lang="en")

    assert plain(one_line) == plain(no_text) == plain(guided) == refusal
    assert plain(english) == (
        "❌ +4930901820 is in Germany: SMS may be sent only to Kazakhstan, Russia "
        "(the setting ALLOWED_COUNTRIES).\nNothing was sent."
    )
    await _nothing_sent(harness)
    sent = await harness.say(ADMIN, "/send +7 701 234 5678 hi")
    assert "#1 отправлено через smsrent на +77012345678" in plain(sent)


async def test_allowed_countries_apply_to_the_preview_too(start_bot: HarnessFactory) -> None:
    harness = await start_bot(send_confirmation=True, allowed_countries=["RU"])

    reply = await harness.say(ADMIN, "/send 4930901820 hi", timeout=30)

    assert "«Германия»" in plain(reply)
    assert buttons(reply) == []
    await _nothing_sent(harness)


async def test_unknown_gateway_is_named_as_such(harness: BotHarness) -> None:
    reply = await harness.say(ADMIN, "/send nosuchgw 79123456789 hi")
    english = await harness.say(ADMIN, "/send nosuchgw +7 912 345 67 89", lang="en")

    assert plain(reply) == (
        "❌ Шлюза «nosuchgw» здесь нет. Включены: smsrent, smska.\nНичего не отправлено."
    )
    assert plain(english) == (
        "❌ There is no gateway “nosuchgw” here. Enabled: smsrent, smska.\nNothing was sent."
    )
    await _nothing_sent(harness)


async def test_gateway_not_configured_here_is_said_so(start_bot: HarnessFactory) -> None:
    harness = await start_bot(smska_api_key=None, smska_api_password=None, smska_sender=None)

    reply = await harness.say(ADMIN, "/send smska 79123456789 hi")
    english = await harness.say(ADMIN, "/send SMSKA 79123456789", lang="en")

    assert plain(reply) == (
        "❌ Шлюз smska здесь не настроен. Включены: smsrent.\nНичего не отправлено."
    )
    assert plain(english) == (
        "❌ The gateway smska is not configured here. Enabled: smsrent.\nNothing was sent."
    )
    await _nothing_sent(harness)


async def test_text_with_a_lone_surrogate_is_refused(harness: BotHarness) -> None:
    reply = await harness.say(ADMIN, f"/send {PHONE} ok\ud800")
    english = await harness.say(ADMIN, f"/send {PHONE} \udcff", lang="en")
    bad_number = await harness.say(ADMIN, "/send 7912\ud800 hi")

    assert plain(reply) == (
        "❌ В тексте есть недопустимые символы (испорченная кодировка): исправьте текст и "
        "отправьте снова.\nНичего не отправлено."
    )
    assert "not valid Unicode" in plain(english)
    assert "«7912\ufffd» — не номер телефона" in plain(bad_number)
    # The guided flow too.
    await harness.say(ADMIN, "/send")
    await harness.say(ADMIN, PHONE)
    flow = await harness.say(ADMIN, "text \ud800")
    assert "недопустимые символы" in plain(flow)
    await _nothing_sent(harness)
