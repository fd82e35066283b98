--
-- PostgreSQL database dump
--

\restrict uOAEbcVcgPFvH3pyupHa30Bfu057p5iRNwXPGgRaRsfNgHTkhCjmhDGwxZSUQh4

-- Dumped from database version 18.6
-- Dumped by pg_dump version 18.6

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET transaction_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: vector; Type: EXTENSION; Schema: -; Owner: -
--

CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public;


--
-- Name: EXTENSION vector; Type: COMMENT; Schema: -; Owner: -
--

COMMENT ON EXTENSION vector IS 'vector data type and ivfflat and hnsw access methods';


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: access_keys; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.access_keys (
    access_key_id text NOT NULL COLLATE pg_catalog."C",
    secret bytea NOT NULL,
    principal text NOT NULL COLLATE pg_catalog."C",
    status text NOT NULL COLLATE pg_catalog."C",
    created_at double precision NOT NULL,
    default_purpose text COLLATE pg_catalog."C"
);


--
-- Name: agnosco_schema; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.agnosco_schema (
    component text NOT NULL COLLATE pg_catalog."C",
    version bigint NOT NULL,
    applied_at double precision NOT NULL
);


--
-- Name: attachments; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.attachments (
    principal text NOT NULL COLLATE pg_catalog."C",
    policy text NOT NULL COLLATE pg_catalog."C"
);


--
-- Name: audit_head; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_head (
    id bigint NOT NULL,
    seq bigint NOT NULL,
    hash text NOT NULL COLLATE pg_catalog."C",
    "time" double precision NOT NULL,
    mac text NOT NULL COLLATE pg_catalog."C",
    CONSTRAINT audit_head_id_check CHECK ((id = 1))
);


--
-- Name: audit_records; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_records (
    seq bigint NOT NULL,
    "time" double precision NOT NULL,
    operation text COLLATE pg_catalog."C",
    principal text COLLATE pg_catalog."C",
    body text NOT NULL COLLATE pg_catalog."C",
    hash text NOT NULL COLLATE pg_catalog."C"
);


--
-- Name: collections; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.collections (
    seq bigint NOT NULL,
    collection_id text NOT NULL COLLATE pg_catalog."C",
    arn text NOT NULL COLLATE pg_catalog."C",
    face_model_version text NOT NULL,
    created_at double precision NOT NULL,
    face_count bigint DEFAULT 0 NOT NULL,
    CONSTRAINT collections_face_count_check CHECK ((face_count >= 0))
);


--
-- Name: collections_seq_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.collections_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: collections_seq_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.collections_seq_seq OWNED BY public.collections.seq;


--
-- Name: faces; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.faces (
    collection_id text NOT NULL COLLATE pg_catalog."C",
    face_id text NOT NULL COLLATE pg_catalog."C",
    image_id text NOT NULL COLLATE pg_catalog."C",
    external_image_id text,
    left_ double precision NOT NULL,
    top double precision NOT NULL,
    width double precision NOT NULL,
    height double precision NOT NULL,
    confidence double precision NOT NULL,
    descriptor public.vector(128) NOT NULL,
    indexed_at double precision NOT NULL,
    user_id text COLLATE pg_catalog."C",
    consent_ref text,
    last_matched_at double precision
)
WITH (fillfactor='80');


--
-- Name: master_key_check; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.master_key_check (
    id bigint NOT NULL,
    token bytea NOT NULL,
    created_at double precision NOT NULL,
    CONSTRAINT master_key_check_id_check CHECK ((id = 1))
);


--
-- Name: policies; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.policies (
    name text NOT NULL COLLATE pg_catalog."C",
    document text NOT NULL COLLATE pg_catalog."C",
    updated_at double precision NOT NULL
);


--
-- Name: principals; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.principals (
    name text NOT NULL COLLATE pg_catalog."C",
    organization text COLLATE pg_catalog."C",
    organization_type text COLLATE pg_catalog."C",
    default_purpose text COLLATE pg_catalog."C",
    created_at double precision NOT NULL
);


--
-- Name: requests; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.requests (
    scope text NOT NULL COLLATE pg_catalog."C",
    token text NOT NULL COLLATE pg_catalog."C",
    fingerprint text NOT NULL,
    response text NOT NULL,
    created_at double precision NOT NULL
);


--
-- Name: reviews; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.reviews (
    review_id text NOT NULL COLLATE pg_catalog."C",
    created_at double precision NOT NULL,
    principal text NOT NULL COLLATE pg_catalog."C",
    access_key_id text COLLATE pg_catalog."C",
    operation text NOT NULL COLLATE pg_catalog."C",
    collection_id text COLLATE pg_catalog."C",
    purpose text COLLATE pg_catalog."C",
    threshold double precision,
    required_reviewers bigint NOT NULL,
    candidates text NOT NULL COLLATE pg_catalog."C",
    status text NOT NULL COLLATE pg_catalog."C",
    decisions text NOT NULL COLLATE pg_catalog."C"
);


--
-- Name: schema_version; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_version (
    version integer NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Name: tags; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.tags (
    arn text NOT NULL COLLATE pg_catalog."C",
    key text NOT NULL COLLATE pg_catalog."C",
    value text NOT NULL
);


--
-- Name: users; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.users (
    collection_id text NOT NULL COLLATE pg_catalog."C",
    user_id text NOT NULL COLLATE pg_catalog."C",
    status text NOT NULL,
    created_at double precision NOT NULL,
    updated_at double precision NOT NULL
);


--
-- Name: collections seq; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.collections ALTER COLUMN seq SET DEFAULT nextval('public.collections_seq_seq'::regclass);


--
-- Data for Name: access_keys; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.access_keys VALUES ('AKIAEXAMPLEADMIN000', '\x67414141414142724558626b66336c6e45486147584b6c693973363344784a6d6b335278544d6a495f553135435757525833714277466a6e554e66535570717a6a6b793061765f35437579536f78655542376c63504b4d78514b5a35766a41775f56736b7739616a705a7678384e4d636841445a745a614553585079543775633061305579776f6a55725358', 'admin', 'Active', 1796306660.2287247, NULL);


--
-- Data for Name: agnosco_schema; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.agnosco_schema VALUES ('keys', 1, 1796306660.1468651);
INSERT INTO public.agnosco_schema VALUES ('principals', 1, 1796306660.1584635);
INSERT INTO public.agnosco_schema VALUES ('reviews', 1, 1796306660.1657722);
INSERT INTO public.agnosco_schema VALUES ('audit', 1, 1796306660.1723788);


--
-- Data for Name: attachments; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.attachments VALUES ('admin', 'Admin');
INSERT INTO public.attachments VALUES ('reviewer', 'ReadOnly');


--
-- Data for Name: audit_head; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.audit_head VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', 1796306660.171691, '627c63550f48899c4f9e0e1cf2e469098431f263efe3e22ec3a8f0576c8f3f3b');


--
-- Data for Name: audit_records; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: collections; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.collections VALUES (1, 'family_photos', 'arn:aws:rekognition:us-east-1:000000000000:collection/family_photos', '6.0', 1764700013, 5);
INSERT INTO public.collections VALUES (2, 'empty', 'arn:aws:rekognition:us-east-1:000000000000:collection/empty', '6.0', 1764700005, 0);
INSERT INTO public.collections VALUES (3, 'work', 'arn:aws:rekognition:us-east-1:000000000000:collection/work', '6.0', 1764700004, 3);


--
-- Data for Name: faces; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.faces VALUES ('family_photos', 'fa-0002-0000-0000-000000000000', 'img-1', 'photo2.jpg', 0.2, 0.2, 0.3, 0.4, 97.5, '[-0.07739116,0.08630345,-0.02416671,-0.08517345,-0.12425446,0.097938485,-0.11204473,-0.022448419,0.0908869,0.045133308,0.020511968,0.021466872,-0.10246529,-0.07988429,-0.05451372,-0.2934599,-0.04970103,-0.018254934,-0.016592128,-0.020569792,0.011971082,0.018522652,0.15417823,0.007257397,0.07674408,-0.06706248,0.024561174,0.02115753,-0.030266633,-0.17750432,-0.14122854,0.03738734,-0.01234601,-0.031631503,-0.07458054,0.0020159048,0.05016927,0.17854798,-0.007743429,-0.023606552,0.021125874,0.11027012,0.22428103,0.05037863,-0.14859353,-0.0025598519,-0.11810867,-0.10084986,0.17573556,-0.039215077,-0.07566438,0.13250965,0.0037591327,-0.116856985,0.0022741903,-0.14277487,-0.08914127,0.015359736,-0.25747564,0.0682649,0.022397889,0.081064604,-0.041721236,0.03951676,-0.10105206,-0.09452961,0.007970392,0.00046893558,-0.0031172717,0.13272771,-0.02941353,0.042820167,0.03234285,0.013811498,0.039221976,-0.17493193,-0.057269692,0.10822698,-0.031202508,0.06781221,0.04523112,-0.30587956,-0.13275073,-0.06835919,-0.06991058,-0.046750467,-0.04507623,-0.08334713,-0.068550214,-0.19720149,0.19162153,0.13666733,0.08518533,-0.010695854,-0.09342202,0.2410912,-0.09667263,0.14047424,0.028325845,-0.09372724,-0.08427698,-0.044726107,-0.065172724,-0.14415964,0.03964561,-0.09461855,0.07345474,-0.020678628,0.011388829,0.008722358,-0.04164377,-0.012640426,0.014400949,0.22807665,-0.1315233,-0.07329437,-0.04185426,-0.12914489,-0.13681054,-0.15897885,-0.010422899,-0.05840927,0.011768355,-0.14803407,-0.09452021,0.08566916,0.0695305,-0.1616305]', 1764700102, NULL, NULL, NULL);
INSERT INTO public.faces VALUES ('family_photos', 'fa-0003-0000-0000-000000000000', 'img-1', 'photo3.jpg', 0.30000000000000004, 0.2, 0.3, 0.4, 96.5, '[0.076769404,-0.060855,-0.11691385,0.06644428,0.08344824,-0.25573742,0.079491526,-0.057179995,-0.060026277,-0.04525267,0.098694004,0.11699241,0.024174666,0.068016164,0.20238915,-0.012715384,-0.11220008,0.041354418,0.059298296,-0.026662314,-0.029975612,0.20360212,-0.03635284,-0.09972552,-0.27846536,0.07143135,0.11687578,-0.12696163,0.04814936,-0.043684494,-0.0031011521,-0.068282515,-0.010484107,0.07716912,-0.059960973,-0.07668523,-0.10959896,0.10353277,-0.09200729,0.053400725,-0.13289653,-0.22138226,-0.06466678,0.014778288,0.09956627,0.07083874,0.023536794,-0.25716817,0.039515372,-0.1559294,-0.078043215,0.16990264,0.091661304,-0.11580076,-0.04261401,0.070543274,-0.022522522,-0.029296273,-0.119630866,0.04595819,0.059272386,-0.08700632,-0.20964828,0.17292713,-0.07714826,0.0344887,-0.09226499,-0.08122658,0.08855097,-0.038390364,0.07021721,0.07261374,-0.05779138,0.022803945,0.07076038,0.117523186,-0.032881882,-0.0051580407,-0.099687204,0.072033845,0.00422781,-0.1386569,-0.04051256,-0.017009053,-0.064198084,-0.0771471,-0.16822803,0.0045318217,-0.047448605,0.086248785,-0.015363504,0.07856144,-0.123827115,0.032769423,0.06766551,0.069287635,-0.032029867,-0.09270493,0.16192849,-0.023465168,-0.12277325,-0.024785174,0.029149806,-0.07438901,0.037656218,0.08621551,-0.0073173754,0.09787602,-0.014345628,-0.04937185,0.15519826,0.06031049,0.00855607,-0.18137428,-0.13971142,-0.16831425,-0.0065653645,-0.005336143,0.03881796,0.100606285,-0.15435264,-0.1364385,-0.09364861,0.043008104,0.026332816,-0.10594966,-0.0724641,0.03532007]', 1764700103, NULL, NULL, NULL);
INSERT INTO public.faces VALUES ('family_photos', 'fa-0004-0000-0000-000000000000', 'img-2', 'photo4.jpg', 0.4, 0.2, 0.3, 0.4, 95.5, '[0.0042631505,0.098611414,-0.08349411,-0.01630049,-0.10133039,0.11191169,0.099502236,0.045922305,0.09455617,0.13488182,0.14274016,0.16711235,-0.07293056,-0.08077471,0.12683032,-0.04319415,-0.17669134,-0.045993496,0.101004794,-0.04690331,0.075594634,0.02998156,-0.1343653,0.04467411,0.00072967395,-0.054961056,-0.14288886,0.15935338,-0.0912018,-0.20357239,0.08292728,-0.044797916,0.11799025,-0.010723397,-0.0017697653,0.05824809,0.011358664,0.01094545,0.10774267,-0.090450905,0.05524793,0.02846827,-0.16034694,0.11052244,0.07660379,0.15339842,-0.04358858,-0.10975665,0.3064959,-0.101615064,-0.07922554,0.055342305,-0.043259528,0.04113935,-0.13243902,-0.1696855,-0.054728102,0.06729769,-0.003297383,0.11941301,-0.026246956,0.01880229,-0.09069402,-0.14594112,-0.121215366,-0.07939873,0.196173,-0.1284828,-0.08808075,0.13682902,-0.06652837,0.05877278,-0.22762382,-0.09709481,0.05104345,-0.169792,0.017762234,0.0032999502,-0.05637614,-0.027647093,0.0701802,-0.0055042123,0.0979677,0.077656336,0.15335658,-0.042696327,0.016511843,-0.10580381,0.061419357,-0.071521364,0.061119158,-0.028305028,-0.017568488,0.022427706,-0.07464223,-0.0673587,-0.06280351,-0.05472011,0.061354768,-0.039663803,-0.058295395,0.08093709,0.067846484,-0.016943062,0.24467294,-0.10590761,0.15913463,0.024390053,0.098884776,-0.031583615,0.115061544,-0.100048,0.07809733,0.02434283,0.088452026,-0.04990982,0.04065742,-0.07977628,-0.037315108,-0.026247263,-0.061987944,-0.050489552,-0.123622276,-0.0139547875,0.14334157,0.28218058,-0.084996335,-0.07700429]', 1764700104, NULL, NULL, NULL);
INSERT INTO public.faces VALUES ('work', 'wo-0000-0000-0000-000000000000', 'img-0', 'photo0.jpg', 0, 0.2, 0.3, 0.4, 99.5, '[0.03215645,0.048696954,-0.1302266,-0.23129891,0.024779683,0.13231416,0.140882,-0.001831584,0.13793743,-0.017863225,-0.14045464,-0.014288351,0.10244924,0.012092044,-0.05746128,0.004511605,0.032731146,0.012999122,0.02945779,0.03692503,0.10593814,0.01246249,-0.015933707,0.035099246,0.058348775,-0.17475395,0.11389953,0.16886708,0.0019270234,0.060751345,-0.07441022,0.06666838,-0.085551545,0.017498463,0.05699681,-0.07912692,-0.111202635,-0.035006884,-0.05688053,-0.032826174,-0.11040659,0.107732736,-0.02759311,0.043535575,-0.1631576,-0.05930401,0.15887854,-0.08830365,0.027818946,0.20826684,-0.00084943586,0.1497901,-0.090256415,-0.0485103,-0.0067181448,-0.05479006,0.03349362,-0.17830582,-0.10684593,0.12999621,0.011105893,0.04781915,0.16722457,-0.17548007,-0.2994512,0.17599837,-0.13814795,0.0067213634,-0.16408578,-0.25717804,-0.009550636,0.04458058,-0.084545575,-0.2561341,0.028341338,0.18744217,-0.17548299,0.07381622,0.025064839,-0.18767755,0.09834132,0.015810762,-0.016707458,0.12515037,0.00075536856,0.12548772,0.2596231,0.01942478,0.04213663,-0.05880949,0.15212797,-0.1239553,-0.05207361,-0.006317465,-0.01827439,-0.071338646,0.08771892,-0.031064156,-0.21522744,0.116024725,0.17306021,-0.055826034,0.13578111,-0.0533502,-0.09939085,-0.092193946,0.1637241,0.13675861,0.06952386,-0.10117137,0.07995717,-0.10860826,0.062536955,-0.054556545,-0.05695469,-0.052285295,-0.2073077,-0.17556213,-0.015009092,-0.107463025,0.08221479,0.11747233,-0.15597609,-0.15076205,-0.016998844,0.19442424,-0.07898941,0.049377013]', 1764700100, NULL, 'consent-42', NULL);
INSERT INTO public.faces VALUES ('work', 'wo-0001-0000-0000-000000000000', 'img-0', 'photo1.jpg', 0.1, 0.2, 0.3, 0.4, 98.5, '[-0.16587202,-0.091759585,0.047172535,-0.02568998,0.048335526,0.010641427,-0.0033120234,-0.005546012,0.13500778,-0.008780291,0.08373041,-0.029112963,0.0065514306,-0.11004769,-0.21269515,-0.045529466,0.006467989,-0.05122758,0.050669085,-0.08368462,-0.14323321,-0.15145577,0.061312307,-0.08716678,-0.00391643,-0.14622161,-0.092031494,-0.007899893,0.10180932,-0.11317932,-0.15182936,-0.008220611,0.008172901,-0.050743278,0.11442315,-0.17947035,-0.09007178,-0.007743796,-0.09553293,0.025623957,-0.007524643,-0.032972317,0.23304807,-0.10723521,-0.034338918,0.040857054,-0.0833311,0.0054664905,0.077385016,0.013576281,0.06620499,-0.04558338,-0.03418007,0.18430163,0.039413195,0.088762306,-0.0731784,-0.029677367,0.10866349,0.001495786,-0.13195041,-0.09760284,-0.0143495845,0.14943391,0.04593328,-0.083669,-0.009031116,-0.00071554485,-0.17445624,-0.010331462,-0.04198743,-0.02199615,-0.09639796,0.030655628,-0.048129465,-0.084105246,0.1785876,-0.04416573,-0.14329387,0.11538426,0.13449758,-0.10324609,-0.050100088,-0.024751702,-0.0472047,-0.14553933,-0.11510724,0.20670643,-0.06826454,-0.060580578,0.0698996,-0.05556194,-0.07463555,-0.11239119,0.045460865,0.012567426,0.1041855,-0.050552048,0.12232285,0.007301155,-0.060930412,0.037884712,0.02690785,0.019800005,-0.08319261,-0.017783972,-0.027317649,0.06549565,0.12072897,0.07549747,0.06707526,0.102835834,0.11572571,-0.046379335,-0.1239898,0.008616754,0.1435557,-0.13272876,-0.10311748,-0.0011229881,-0.062645786,0.0920931,0.0006734475,0.0770465,0.022832638,0.03351735,-0.124800496,-0.071620636]', 1764700101, NULL, NULL, 1764700500);
INSERT INTO public.faces VALUES ('work', 'wo-0002-0000-0000-000000000000', 'img-1', 'photo2.jpg', 0.2, 0.2, 0.3, 0.4, 97.5, '[-0.20343693,-0.08404885,-0.061756957,0.02729103,-0.12205453,0.17068402,0.1150605,-0.10860284,-0.19075646,-0.16695601,0.023945702,-0.13042864,-0.035829093,0.049452987,0.03242726,0.06683519,-0.13539502,0.059282657,0.06258492,0.08847416,0.07619756,-0.13378063,-0.25038183,0.030330822,0.15348735,-0.08318447,-0.08425154,0.011349168,0.102159515,0.06743493,-0.12414151,-0.049327277,-0.062141895,0.05158139,0.06980728,-0.09386819,-0.08658489,0.023222141,-0.027308369,-0.08238629,-0.050614227,0.05491857,-0.040579617,-0.01739633,-0.08276974,0.05418798,-0.05709506,0.021082273,0.011788128,-0.044035174,-0.08868591,-0.01287623,-0.03588003,0.09617878,-0.08985292,0.07070642,0.115838364,0.060974885,0.069754206,-0.029707491,0.041025396,0.041992318,-0.16458043,-0.03583785,-0.12393867,-0.18918392,-0.0049838885,0.04129326,-0.06883884,0.049496096,0.05503596,0.007770393,-0.051126685,0.06580439,0.17500997,-0.20602345,0.07191717,-0.11639064,0.08380189,0.09876965,-0.04100371,-0.043596234,-0.002171951,0.011832318,-0.020301856,0.11381128,-0.15686615,-0.050300896,0.065060854,-0.028763238,-0.024873843,-0.03020729,0.09512397,0.069418095,-0.13260706,-0.11382458,-0.041484617,-0.013808434,0.09065582,-0.011716122,0.13216369,0.18652195,-0.086783014,0.017170891,0.10327945,0.023684515,0.03484614,-0.0452107,-0.054613918,0.021119349,0.1002949,-0.10429671,-0.013423197,0.18099889,-0.018539833,0.017742423,0.08108067,0.058447022,-0.014485575,-0.020599147,0.15377915,-0.09316831,-0.1340775,0.112670474,0.1276795,-0.09490805,0.08984219,0.038525186]', 1764700102, NULL, NULL, NULL);
INSERT INTO public.faces VALUES ('family_photos', 'fa-0000-0000-0000-000000000000', 'img-0', 'photo0.jpg', 0, 0.2, 0.3, 0.4, 99.5, '[0.15122107,0.068228856,0.03605793,0.09858383,-0.115637206,-0.09692027,0.1291556,0.08562733,0.08750822,0.022182582,-0.08249949,-0.108010225,0.093804695,0.10828266,-0.112047315,-0.073951416,-0.010289315,0.08746379,-0.034053843,-0.085222654,0.0988419,0.059727367,-0.06942557,-0.065935425,0.11099762,-0.12808749,-0.029287582,0.04493076,0.016438618,0.09294148,-0.17110136,0.0017608932,0.030116199,0.033359665,0.05769139,-0.11668672,0.14451449,0.045404296,0.056063004,-0.057686564,0.018075008,0.13304609,-0.0015179487,0.01953574,0.031671613,-0.16330601,-0.017255967,0.06930166,-0.048854552,-0.004216926,-0.0032747525,-0.1579944,0.080430776,-0.13540441,0.042266797,-0.013359661,-0.034112386,0.0066780797,0.07536796,0.08134591,-0.043034133,-0.016446369,-0.08594291,-0.14614989,0.095093936,-0.1097253,-0.07353004,0.03794042,-0.13476913,0.048009574,-0.08437466,-0.11364295,-0.058066733,-0.0851055,0.023605619,0.1418135,0.067405775,0.046493944,-0.06153136,-0.024113221,0.009236754,-0.0075877155,0.0124598555,-0.12217895,0.1739415,-0.13707806,-0.018496526,0.0786505,-0.07878313,0.10069187,-0.14556621,-0.078922234,-0.23982134,0.09851255,-0.12439082,-0.0744033,0.07120399,0.028823981,0.100693956,0.058905642,0.083190955,-0.05405861,-0.014639181,0.06774912,0.069078535,0.08837612,-0.08279962,-0.11585468,-0.13173373,-0.05359697,-0.016391499,-0.12561066,-0.024699494,0.0568285,0.092573985,-0.06504671,0.050459903,-0.13396223,-0.07234051,0.004314756,-0.07090967,-0.08421367,0.020474272,-0.10547545,0.0047081434,-0.017105592,0.044447724,0.06903171]', 1764700100, 'alice', 'consent-42', NULL);
INSERT INTO public.faces VALUES ('family_photos', 'fa-0001-0000-0000-000000000000', 'img-0', 'photo1.jpg', 0.1, 0.2, 0.3, 0.4, 98.5, '[0.0068598785,-0.056181688,0.09425195,0.01311848,-0.09459635,0.010638638,-0.06787824,-0.25914106,-0.102542154,-0.04454964,-0.052456927,-0.16049099,-0.04164689,0.035993125,-0.12067477,0.018970078,-0.20936278,0.043804448,-0.063360594,-0.14074181,0.10406109,0.03966097,0.08804451,0.024087615,0.02774449,-0.045320924,0.03518751,-0.015390423,-0.07086118,-0.025938256,-0.1344054,-0.009721507,0.03673177,0.005236956,0.04939513,-0.038170908,-0.0039302087,-0.004403678,0.18490009,-0.13676313,0.1937264,-0.07970408,-0.04055618,0.020489536,0.050516438,-0.009766702,0.015007687,0.13131575,0.25123906,0.033845138,0.06234113,-0.016584551,0.15792881,-0.017918978,0.043808013,-0.11017219,-0.2701765,0.21839221,0.0992737,0.084415056,-0.098622836,-0.16774237,-0.029849911,0.0053544124,0.06515857,-0.0051223086,0.12054197,0.02817334,0.024466468,0.10887796,-0.072211824,0.031965166,-0.06104311,-0.072886676,0.14355071,0.102050304,0.046999346,0.1235088,0.031212881,0.12796351,-0.08951043,-0.02021019,0.03218494,-0.105183005,-0.07202917,-0.12824318,0.06150636,-0.051234275,0.021225112,0.046455864,-0.020915484,-0.0030012154,0.008310662,0.036761146,0.12729664,-0.11369063,0.0036793922,-0.12350603,0.1377018,-0.18572159,0.011253903,-0.046255954,-0.0618214,0.065196626,0.04713816,-0.0995463,0.04038521,0.02306812,-0.07877946,-0.14896895,0.07259567,0.0630812,0.04556152,-0.05747961,0.11377338,0.33335277,0.010010368,0.04641665,-0.086552784,-0.085704066,0.16702227,0.21789508,-0.030894702,-0.0713313,-0.09773986,-0.067119814,-0.001734815,-0.1304319]', 1764700101, 'alice', NULL, 1764700500);


--
-- Data for Name: master_key_check; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.master_key_check VALUES (1, '\x67414141414142724558626b4950654267585771464d63377750376e516d71626d6d6b3233636270422d6e36515a46637a6b6e627958326d7134474c4a4855434c72566847336a42714b71726636335148764376314978374c325572385f583454695569435930716b647a4e2d614b43486f76736a62383d', 1796306660.1507936);


--
-- Data for Name: policies; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: principals; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.principals VALUES ('admin', NULL, NULL, NULL, 1796306660.160108);
INSERT INTO public.principals VALUES ('reviewer', 'Example Org', NULL, NULL, 1796306660.2298524);


--
-- Data for Name: requests; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.requests VALUES ('family_photos/IndexFaces', 'tok-1', 'fp', '{"FaceRecords": []}', 1796306660.227485);


--
-- Data for Name: reviews; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: schema_version; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.schema_version VALUES (1, '2026-12-03 14:04:20.1769+00');
INSERT INTO public.schema_version VALUES (2, '2026-12-03 14:04:20.1769+00');


--
-- Data for Name: tags; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.tags VALUES ('arn:aws:rekognition:us-east-1:000000000000:collection/family_photos', 'owner', 'family_photos');
INSERT INTO public.tags VALUES ('arn:aws:rekognition:us-east-1:000000000000:collection/empty', 'owner', 'empty');
INSERT INTO public.tags VALUES ('arn:aws:rekognition:us-east-1:000000000000:collection/work', 'owner', 'work');
INSERT INTO public.tags VALUES ('arn:aws:rekognition:us-east-1:000000000000:collection/work', 'team', 'vision');


--
-- Data for Name: users; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.users VALUES ('family_photos', 'alice', 'ACTIVE', 1764700200, 1796306660.2245815);
INSERT INTO public.users VALUES ('family_photos', 'bob', 'CREATED', 1764700201, 1764700201);


--
-- Name: collections_seq_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.collections_seq_seq', 3, true);


--
-- Name: access_keys access_keys_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.access_keys
    ADD CONSTRAINT access_keys_pkey PRIMARY KEY (access_key_id);


--
-- Name: agnosco_schema agnosco_schema_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agnosco_schema
    ADD CONSTRAINT agnosco_schema_pkey PRIMARY KEY (component);


--
-- Name: attachments attachments_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.attachments
    ADD CONSTRAINT attachments_pkey PRIMARY KEY (principal, policy);


--
-- Name: audit_head audit_head_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_head
    ADD CONSTRAINT audit_head_pkey PRIMARY KEY (id);


--
-- Name: audit_records audit_records_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_records
    ADD CONSTRAINT audit_records_pkey PRIMARY KEY (seq);


--
-- Name: collections collections_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.collections
    ADD CONSTRAINT collections_pkey PRIMARY KEY (collection_id);


--
-- Name: collections collections_seq_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.collections
    ADD CONSTRAINT collections_seq_key UNIQUE (seq);


--
-- Name: faces faces_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.faces
    ADD CONSTRAINT faces_pkey PRIMARY KEY (collection_id, face_id);


--
-- Name: master_key_check master_key_check_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.master_key_check
    ADD CONSTRAINT master_key_check_pkey PRIMARY KEY (id);


--
-- Name: policies policies_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.policies
    ADD CONSTRAINT policies_pkey PRIMARY KEY (name);


--
-- Name: principals principals_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.principals
    ADD CONSTRAINT principals_pkey PRIMARY KEY (name);


--
-- Name: requests requests_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.requests
    ADD CONSTRAINT requests_pkey PRIMARY KEY (scope, token);


--
-- Name: reviews reviews_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.reviews
    ADD CONSTRAINT reviews_pkey PRIMARY KEY (review_id);


--
-- Name: schema_version schema_version_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schema_version
    ADD CONSTRAINT schema_version_pkey PRIMARY KEY (version);


--
-- Name: tags tags_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tags
    ADD CONSTRAINT tags_pkey PRIMARY KEY (arn, key);


--
-- Name: users users_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (collection_id, user_id);


--
-- Name: audit_records_by_operation; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_records_by_operation ON public.audit_records USING btree (operation, seq);


--
-- Name: audit_records_by_principal; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_records_by_principal ON public.audit_records USING btree (principal, seq);


--
-- Name: audit_records_by_time; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_records_by_time ON public.audit_records USING btree ("time");


--
-- Name: faces_by_descriptor; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX faces_by_descriptor ON public.faces USING hnsw (descriptor public.vector_l2_ops) WITH (m='16', ef_construction='64');


--
-- Name: faces_by_image; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX faces_by_image ON public.faces USING btree (collection_id, image_id);


--
-- Name: faces_by_user; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX faces_by_user ON public.faces USING btree (collection_id, user_id);


--
-- Name: reviews_by_status; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX reviews_by_status ON public.reviews USING btree (status, created_at);


--
-- Name: attachments attachments_principal_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.attachments
    ADD CONSTRAINT attachments_principal_fkey FOREIGN KEY (principal) REFERENCES public.principals(name) ON DELETE CASCADE;


--
-- Name: faces faces_collection_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.faces
    ADD CONSTRAINT faces_collection_id_fkey FOREIGN KEY (collection_id) REFERENCES public.collections(collection_id) ON DELETE CASCADE;


--
-- Name: users users_collection_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_collection_id_fkey FOREIGN KEY (collection_id) REFERENCES public.collections(collection_id) ON DELETE CASCADE;


--
-- PostgreSQL database dump complete
--

\unrestrict uOAEbcVcgPFvH3pyupHa30Bfu057p5iRNwXPGgRaRsfNgHTkhCjmhDGwxZSUQh4

