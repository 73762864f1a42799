-- Why: counselors practise in the real inbox: role-play scenarios a supervisor keeps, practice chats a scenario's script plays, and supervisors' reviews of practice chats (a rubric the centre edits, comments on messages) that the trainee reads.
CREATE TABLE practice_scenario (
    id              INTEGER PRIMARY KEY,
    title           TEXT NOT NULL,
    topic           TEXT NOT NULL DEFAULT '',        -- a topic tag's key; '' none
    persona         TEXT NOT NULL,
    situation       TEXT NOT NULL,
    lines           TEXT NOT NULL,                   -- JSON array: the visitor's lines, in order
    focus           TEXT NOT NULL,                   -- what to practise: shown at the review
    ends_with_exit  INTEGER NOT NULL DEFAULT 0,      -- the visitor leaves by quick exit after the last line
    archived        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE TABLE rubric_item (
    id          INTEGER PRIMARY KEY,
    position    INTEGER NOT NULL,
    label_ja    TEXT NOT NULL,
    label_en    TEXT NOT NULL,
    hint        TEXT NOT NULL DEFAULT '',
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL
);

-- A practice chat: its scenario (NULL: none, or one deleted), played by a colleague
-- ('roleplay') or by the server from the scenario's lines ('scripted').
CREATE TABLE practice_session (
    conversation_id  TEXT PRIMARY KEY REFERENCES conversation (id) ON DELETE CASCADE,
    scenario_id      INTEGER REFERENCES practice_scenario (id) ON DELETE SET NULL,
    mode             TEXT NOT NULL CHECK (mode IN ('scripted', 'roleplay')),
    player_id        INTEGER REFERENCES user (id),   -- role-play: who played the visitor
    next_line        INTEGER NOT NULL DEFAULT 0,     -- scripted: the script's lines sent so far
    created_at       TEXT NOT NULL
) WITHOUT ROWID;

-- The scenario a staff member plays at a practice desk (chosen on the page that opens the
-- widget there), recorded with each chat they start at that desk.
CREATE TABLE practice_choice (
    user_id      INTEGER NOT NULL REFERENCES user (id) ON DELETE CASCADE,
    desk_id      INTEGER NOT NULL REFERENCES desk (id) ON DELETE CASCADE,
    scenario_id  INTEGER REFERENCES practice_scenario (id) ON DELETE CASCADE,  -- NULL: none
    chosen_at    TEXT NOT NULL,
    PRIMARY KEY (user_id, desk_id)
) WITHOUT ROWID;

-- One review per practice chat; the trainee is the counselor who held it.
CREATE TABLE practice_review (
    conversation_id  TEXT PRIMARY KEY REFERENCES conversation (id) ON DELETE CASCADE,
    reviewer_id      INTEGER NOT NULL REFERENCES user (id),
    trainee_id       INTEGER NOT NULL REFERENCES user (id),
    comment          TEXT NOT NULL DEFAULT '',
    created_at       TEXT NOT NULL,
    read_at          TEXT                            -- NULL: the trainee has not opened it
) WITHOUT ROWID;
CREATE INDEX practice_review_trainee ON practice_review (trainee_id, read_at);

CREATE TABLE practice_score (
    conversation_id  TEXT NOT NULL REFERENCES practice_review (conversation_id) ON DELETE CASCADE,
    rubric_item_id   INTEGER NOT NULL REFERENCES rubric_item (id),
    score            INTEGER NOT NULL CHECK (score BETWEEN 1 AND 4),
    comment          TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (conversation_id, rubric_item_id)
) WITHOUT ROWID;

-- A reviewer's comment on one message of the transcript.
CREATE TABLE practice_mark (
    conversation_id  TEXT NOT NULL REFERENCES practice_review (conversation_id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,
    comment          TEXT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;

-- Six scenarios, one for each topic of the centre's poster.
INSERT INTO practice_scenario (title, topic, persona, situation, lines, focus, ends_with_exit, created_at, updated_at) VALUES
    ('はじめて相談する大学生（眠れない・授業に出られない）',
     'oneself',
     '大学2年生、20歳。実家を離れて一人暮らし。誰かに悩みを相談するのは初めて。',
     'この1か月ほど夜に眠れず、授業にも出られなくなっている。「こんなことで相談していいのか」と迷いながら、夜遅くにスマートフォンからチャットを開いた。自分の気持ちをうまく言葉にできない。',
     '["あの、こういうところに相談するのは初めてで…こんなことで相談していいのかわからないんですけど", "大学2年です。最近、夜眠れなくて、授業にも行けなくなってしまって", "親には心配をかけたくないので言えていません。友だちにもなんとなく話せなくて", "自分が弱いだけなのかなって思ってしまいます", "大学の中にも相談できるところってあるんですか？"]',
     '相談してよいことを伝えて安心してもらう。否定や評価をせず、気持ちを言葉にするのを手伝う。眠れない・授業に出られない状態について、自分を傷つけたい気持ちがないかを穏やかに確かめる（安全確認）。大学の学生相談室や保健管理センター、面接相談など、次に頼れる先を伝える。',
     0,
     '2026-01-01T00:00:00.000Z',
     '2026-01-01T00:00:00.000Z'),
    ('母の介護をひとりで担う（家族の役割）',
     'family',
     '40代、会社員。実家の近くに住み、母親の介護をしている。兄が2人いる。',
     '兄たちから「娘なんだから介護はお前がやるのが当たり前」と言われ、ほとんど一人で母を見ている。仕事と介護の両立で疲れ切っているが、そう感じる自分を責めてもいる。',
     '["母の介護のことで相談したくて", "兄が二人いるんですが、「娘なんだからお前がやるのが当たり前」と言われて、ほとんど私一人で見ています", "仕事もあるので、正直もう限界で…。でも、そう思う自分がひどい娘な気がして", "介護のことを、どこに相談すればいいのかもよくわかりません"]',
     '疲れや罪悪感を否定せずに受け止め、ここまでの負担をねぎらう。「娘だから」という役割の押しつけを、本人を責めずに一緒に見直す視点を示す。地域包括支援センターなど介護の相談先を正確に伝え、必要なら面接相談につなぐ。',
     0,
     '2026-01-01T00:00:00.000Z',
     '2026-01-01T00:00:00.000Z'),
    ('育休から戻ったら望まない異動（仕事）',
     'work',
     '30代、正社員。育児休業から職場に戻ったばかりで、子どもは1歳。',
     '復帰すると、前の部署ではなく希望していない仕事に回された。上司からは「子どもがいると大変だろうから」と言われた。会社と争いたくはないが、納得できずにいる。',
     '["仕事のことで聞きたいことがあって", "育休から戻ったら、前の部署じゃなくて、全然違う仕事に回されました", "上司には「子どもがいると大変だろうから」と言われて…。配慮なのかもしれないけど、納得できなくて", "こういうのって、どこかに相談できるものなんですか？", "会社と揉めたくはないんです"]',
     '「揉めたくない」という本人の希望を尊重し、結論を急がない。本人の受け止め方を決めつけず、何に納得できないのかを一緒に整理する。都道府県労働局の雇用環境・均等部（室）など、相談先の情報を正確に伝える。面接相談や法律相談へのつなぎも示す。',
     0,
     '2026-01-01T00:00:00.000Z',
     '2026-01-01T00:00:00.000Z'),
    ('同性のパートナーのことを家族に話せない（性・SOGI）',
     'sexuality',
     '20代後半、会社員。同性のパートナーと2年前から一緒に暮らしている。',
     '家族にはまだパートナーのことを話していない。母親から「いい人はいないの」と聞かれるたびにうそをついているようでつらい。話したら関係が壊れるのではと不安で、ここで相談してよいのかも迷っている。',
     '["ここって、LGBTのことも相談していいんでしょうか", "付き合っている人が同性で、一緒に暮らしています。家族にはまだ話していません", "母から「いい人はいないの」と聞かれるたびに、うそをついているみたいでつらくて", "話したら、関係が壊れてしまいそうで怖いです", "同じような人の話を聞ける場所ってありますか"]',
     'ここで相談してよいことをはっきり伝える。本人が使う言葉（「パートナー」など）をそのまま使い、性別や関係を決めつけない。家族に話すかどうか、いつ話すかは本人が決めることとして尊重する。秘密を守ることを伝える。性的指向・性自認に関する相談窓口や当事者の集まりなどの情報を伝える。',
     0,
     '2026-01-01T00:00:00.000Z',
     '2026-01-01T00:00:00.000Z'),
    ('夫が帰ってきて急に退出する（DV・緊急退出）',
     'domestic_violence',
     '30代。夫と5歳の子どもと暮らしている。仕事はしていない。',
     '夫が外出している間に、スマートフォンから相談している。生活費をほとんど渡されず、怒ると怒鳴られたり物を投げられたりする。殴られたことはないので「DVとまでは言えない」と思っている。途中で夫が帰宅し、急いで画面を閉じる。【ロールプレイの場合】最後の行を送ったら、すぐに「緊急退出」を押してください。',
     '["今、夫が出かけているので連絡しました。あまり時間がないかもしれません", "生活費をほとんどもらえなくて、使ったお金はレシートを全部見せるように言われます", "怒ると大きな声で怒鳴って、物を投げることもあります。子どもも怖がっています", "でも殴られたことはないので、DVとまでは言えないですよね…", "あ、帰ってきたみたいです。すみません"]',
     '最初に安全確認をする（今話しても大丈夫か、画面を見られていないか、危なくなったらすぐ閉じてよいこと）。経済的・精神的な暴力もDVであることを、責めずに伝える。子どもの安全にも気を配る。時間が限られていることを意識し、DV相談＋（0120-279-889、24時間）や、危険なときは110番など、優先して伝える情報を絞る。突然の退出のあと、こちらから連絡はしないこと、またいつでも相談できることを振り返りで確認する。',
     1,
     '2026-01-01T00:00:00.000Z',
     '2026-01-01T00:00:00.000Z'),
    ('派遣先の上司からの誘い（ハラスメント）',
     'harassment',
     '20代、派遣社員。今の派遣先で働いて半年。',
     '派遣先の上司から、二人きりの食事に何度も誘われている。断ると「そういう態度だと次の契約はどうかな」と言われた。自分の断り方が悪かったのではと感じ、派遣会社に言うと契約を切られるのではと恐れている。',
     '["職場の人のことで相談です", "派遣先の上司から、何度も二人で食事に行こうと誘われています", "断ったら、「そういう態度だと次の契約はどうかな」と言われました", "私の断り方が悪かったのかなとも思ってしまって", "派遣会社に言ったら、契約を切られそうで怖いです"]',
     '本人を責めない（断り方のせいではないことを伝える）。つらさと不安を受け止める。日時や言われたことを記録しておくことを提案する。派遣元・派遣先の相談窓口や、都道府県労働局など相談先の情報を伝える。どうするかは本人のペースで選べるよう、選択肢を示す。',
     0,
     '2026-01-01T00:00:00.000Z',
     '2026-01-01T00:00:00.000Z');

-- The centre's rubric; admins rename, add, reorder or retire items.
INSERT INTO rubric_item (position, label_ja, label_en, hint, created_at) VALUES
    (1, '共感', 'Empathy', '気持ちを受け止め、否定や評価をせずに聴けたか', '2026-01-01T00:00:00.000Z'),
    (2, '安全確認', 'Safety check', '今安全に話せるか、危険がないかを確かめたか', '2026-01-01T00:00:00.000Z'),
    (3, '情報提供', 'Information given', '相談先や制度を正確に、相手に合わせて伝えたか', '2026-01-01T00:00:00.000Z'),
    (4, 'つなぎ', 'Handover', '電話・面接相談や他機関へ、次の一歩をつないだか', '2026-01-01T00:00:00.000Z');
