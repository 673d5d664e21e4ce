// linear_cross_entropy: values and gradients (input, linear_weight, linear_bias) against
// torch 2.13 for every option and target kind, the errors of its Python checks and of
// cross_entropy behind them, the fused path against cross_entropy on the same logits
// (bits), and results that do not depend on the thread count.
//
// The float64 numbers were printed by the oracle for this Python (the preamble of
// mod.rs is not needed):
//
//     import torch, torch.nn.functional as F, numpy as np
//     D = torch.float64
//     H = torch.tensor([[0.5, -1.2, 0.3], [1.1, 0.4, -0.7], [-0.2, 0.9, 1.5], [0.8, -0.6, -1.1]], dtype=D)
//     LW = torch.tensor([[0.3, -0.5, 0.8], [-1.0, 0.2, 0.4], [0.6, 0.7, -0.3], [0.1, -0.9, 0.5], [-0.4, 0.3, 1.2]], dtype=D)
//     LB = torch.tensor([0.1, -0.2, 0.3, 0.0, -0.5], dtype=D)
//     T = torch.tensor([0, 4, 2, 1])
//     CW = torch.tensor([0.5, 1.5, 1.0, 2.0, 0.7], dtype=D)
//     P = torch.softmax(torch.tensor([[0.1,0.2,0.3,0.4,0.5],[1.0,0.0,0.0,0.0,0.0],[0.3,0.3,0.1,0.9,0.2],[0.0,0.5,1.0,0.5,0.0]], dtype=D), 1)
//     LWK = torch.tensor(np.arange(30).reshape(5, 2, 3) % 7 / 5.0 - 0.6, dtype=D)
//     LBK = torch.tensor(np.arange(10).reshape(5, 2) % 3 / 4.0 - 0.25, dtype=D)
//     TK = torch.tensor([[0, 4], [2, 2], [1, 3], [4, 0]])
//     G4 = torch.tensor([0.3, -1.2, 0.8, 2.1], dtype=D)
//     GK = torch.tensor([[0.3,-1.2],[0.8,2.1],[1.0,0.5],[-0.7,0.2]],dtype=D)
//     def grads(kw, tgt, g=None, h=H, lw=LW, lb=None):  # loss, then h, lw, lb's .grad
//         h = h.clone().requires_grad_(True); lw = lw.clone().requires_grad_(True)
//         if lb is not None: lb = lb.clone().requires_grad_(True)
//         out = F.linear_cross_entropy(h, lw, tgt, linear_bias=lb, **kw)
//         (out * (1.0 if g is None else g)).sum().backward()
//         return out, h.grad, lw.grad, (lb.grad if lb is not None else None)
//
// and each case's call is quoted above its expected values.

use ndarray::{ArrayD, IxDyn, arr0};

use super::*;
use crate::linear_cross_entropy::{Linear, logits_shape, target_from_others};
use crate::{
    LinearCrossEntropyOptions, linear_cross_entropy, linear_cross_entropy_backward,
    linear_cross_entropy_target_backward, linear_cross_entropy_weight_backward,
    linear_cross_entropy_with_grad,
};

struct Expected {
    shape: &'static [usize],
    loss: &'static [f64],
    input: &'static [f64],
    linear_weight: &'static [f64],
    linear_bias: Option<&'static [f64]>,
}

struct Operands {
    h: ArrayD<f64>,
    lw: ArrayD<f64>,
    lb: ArrayD<f64>,
    t: ArrayD<i64>,
    cw: ArrayD<f64>,
    p: ArrayD<f64>,
    lwk: ArrayD<f64>,
    lbk: ArrayD<f64>,
    tk: ArrayD<i64>,
    g4: ArrayD<f64>,
    gk: ArrayD<f64>,
}

fn operands() -> Operands {
    let softmax_rows = |rows: &[[f64; 5]]| {
        let mut out = Vec::new();
        for row in rows {
            let total: f64 = row.iter().map(|v| v.exp()).sum();
            out.extend(row.iter().map(|v| v.exp() / total));
        }
        out
    };
    let p = softmax_rows(&[
        [0.1, 0.2, 0.3, 0.4, 0.5],
        [1.0, 0.0, 0.0, 0.0, 0.0],
        [0.3, 0.3, 0.1, 0.9, 0.2],
        [0.0, 0.5, 1.0, 0.5, 0.0],
    ]);
    Operands {
        h: a64(
            &[4, 3],
            &[
                0.5, -1.2, 0.3, 1.1, 0.4, -0.7, -0.2, 0.9, 1.5, 0.8, -0.6, -1.1,
            ],
        ),
        lw: a64(
            &[5, 3],
            &[
                0.3, -0.5, 0.8, -1.0, 0.2, 0.4, 0.6, 0.7, -0.3, 0.1, -0.9, 0.5, -0.4, 0.3, 1.2,
            ],
        ),
        lb: a64(&[5], &[0.1, -0.2, 0.3, 0.0, -0.5]),
        t: ai(&[4], &[0, 4, 2, 1]),
        cw: a64(&[5], &[0.5, 1.5, 1.0, 2.0, 0.7]),
        p: a64(&[4, 5], &p),
        lwk: a64(
            &[5, 2, 3],
            &(0..30)
                .map(|i| (i % 7) as f64 / 5.0 - 0.6)
                .collect::<Vec<_>>(),
        ),
        lbk: a64(
            &[5, 2],
            &(0..10)
                .map(|i| (i % 3) as f64 / 4.0 - 0.25)
                .collect::<Vec<_>>(),
        ),
        tk: ai(&[4, 2], &[0, 4, 2, 2, 1, 3, 4, 0]),
        g4: a64(&[4], &[0.3, -1.2, 0.8, 2.1]),
        gk: a64(&[4, 2], &[0.3, -1.2, 0.8, 2.1, 1.0, 0.5, -0.7, 0.2]),
    }
}

/// The loss and the three gradients of one call against torch's numbers; the loss of
/// `linear_cross_entropy` alone must equal the one of `_with_grad`, bit for bit.
#[track_caller]
fn check(
    expected: &Expected,
    grad_output: &ArrayD<f64>,
    (h, lw): (&ArrayD<f64>, &ArrayD<f64>),
    target: Target<'_, f64>,
    options: &LinearCrossEntropyOptions<'_, f64>,
) {
    let loss = linear_cross_entropy(h.view(), lw.view(), target.clone(), options).unwrap();
    assert_close(&loss, expected.shape, expected.loss);
    let (with_grad, grads) =
        linear_cross_entropy_with_grad(grad_output.view(), h.view(), lw.view(), target, options)
            .unwrap();
    assert_eq!(
        with_grad.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        loss.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        "the loss of _with_grad is the forward's"
    );
    assert_close(&grads.input, h.shape(), expected.input);
    assert_close(&grads.linear_weight, lw.shape(), expected.linear_weight);
    match (&grads.linear_bias, expected.linear_bias) {
        (Some(g), Some(e)) => {
            let shape = options.linear_bias.as_ref().unwrap().shape();
            assert_close(g, shape, e);
        }
        (None, None) => {}
        (got, _) => panic!(
            "bias gradient {got:?} where torch has {:?}",
            expected.linear_bias
        ),
    }
}

/// plain mean bias
const PLAIN_MEAN_BIAS: Expected = Expected {
    shape: &[],
    loss: &[2.391553203003551],
    input: &[
        -0.04326749945409582,
        0.003939020412894914,
        -0.05613769415176559,
        0.206375782093914,
        0.01889345747070098,
        -0.3047093063373649,
        -0.20546682905153768,
        -0.1526282697445299,
        0.261537948007711,
        0.3275019230296151,
        -0.043479208377663114,
        -0.05377456450415289,
    ],
    linear_weight: &[
        -0.01796137688257697,
        0.21677207749863944,
        -0.05188157810014722,
        -0.1820142453003718,
        0.17119792565866054,
        0.3270250630943154,
        0.347977682182038,
        -0.22437212593255423,
        -0.5807264923293058,
        0.1277224985315999,
        -0.14319912140593893,
        -0.025274042711707023,
        -0.2757245585306892,
        -0.020398755818806805,
        0.33085705004684485,
    ],
    linear_bias: Some(&[
        -0.036018424762259874,
        -0.16896299248629842,
        0.10091511035937197,
        0.21612673620065304,
        -0.11206042931146669,
    ]),
};
/// plain none weight ii=4 no bias
const PLAIN_NONE_WEIGHT_II_4_NO_BIAS: Expected = Expected {
    shape: &[4],
    loss: &[
        0.5556713008526799,
        0.0,
        2.6631347264420375,
        3.994347046228384,
    ],
    input: &[
        -0.033605687948189134,
        0.004255765695736237,
        -0.02847929985408548,
        0.0,
        0.0,
        0.0,
        -0.7306370729627969,
        -0.45367091554674216,
        0.9285004877153183,
        3.9079793211676126,
        -0.7903408597614768,
        -0.4385301172298643,
    ],
    linear_weight: &[
        0.41615095876844976,
        -0.15053674313306867,
        -0.5432761680265275,
        -2.3673019670271076,
        1.872318044147578,
        3.436256443329386,
        1.1651538469057807,
        -1.4400878656485407,
        -2.5041041832694404,
        0.7577346585851901,
        -0.5863594409980448,
        -0.9173264044547706,
        0.028262502767687187,
        0.30466600563207635,
        0.528450312421353,
    ],
    linear_bias: None,
};
/// plain sum weight bias
const PLAIN_SUM_WEIGHT_BIAS: Expected = Expected {
    shape: &[],
    loss: &[9.517699346560272],
    input: &[
        -0.08653499890819163,
        0.007878040825789828,
        -0.11227538830353118,
        0.5778521898629592,
        0.05290168091796271,
        -0.8531860577446216,
        -0.8218673162061507,
        -0.6105130789781196,
        1.046151792030844,
        1.9650115381776907,
        -0.2608752502659787,
        -0.32264738702491746,
    ],
    linear_weight: &[
        0.12347324286178742,
        0.41278329800891933,
        -0.1903270405580989,
        -1.1336292064880824,
        0.9972592061706551,
        1.8301788556882745,
        1.3250336074728486,
        -1.0748538718380896,
        -2.4489146612261736,
        0.4742204036191856,
        -0.39888709184579463,
        -0.28903959170281474,
        -0.7890980474657395,
        0.06369845950430977,
        1.0981024377988131,
    ],
    linear_bias: Some(&[
        0.23339396699908543,
        -1.1886322019811921,
        0.38436375054020044,
        0.747085128596064,
        -0.1762106441541579,
    ]),
};
/// smooth mean weight bias ls=0.2
const SMOOTH_MEAN_WEIGHT_BIAS_LS_0_2: Expected = Expected {
    shape: &[],
    loss: &[2.5664691887533664],
    input: &[
        -0.0019156644942401894,
        -0.01905545424940757,
        -0.016275104786279773,
        0.16013417977297756,
        0.043662750796662035,
        -0.21309290096631736,
        -0.1823998921783576,
        -0.11740741761878568,
        0.24471460600208317,
        0.4529435092824761,
        -0.04571709141978698,
        -0.08582711147235712,
    ],
    linear_weight: &[
        0.041188599614194514,
        0.07143858732051209,
        -0.03545341396589549,
        -0.2763514478120013,
        0.22895672246951962,
        0.4085378221871987,
        0.33615744111575613,
        -0.22684066927593544,
        -0.58020386215818,
        0.0864484436638291,
        -0.11073169518887895,
        -0.0687247568419807,
        -0.18744303658177847,
        0.03717705467478269,
        0.2758442107788577,
    ],
    linear_bias: Some(&[
        0.08158550546380738,
        -0.3018918947925562,
        0.12635826515673176,
        0.1283177530518505,
        -0.03436962887983351,
    ]),
};
/// prob mean bias
const PROB_MEAN_BIAS: Expected = Expected {
    shape: &[],
    loss: &[2.002745221683784],
    input: &[
        0.05337853628045179,
        -0.11330719283782653,
        0.008460745793927027,
        0.10207838316490082,
        0.13330609827950637,
        -0.15261265291663775,
        -0.0379539114759197,
        0.07174993053139254,
        0.053495590447706645,
        0.07603231307076685,
        -0.01059220918437851,
        -0.03699737980971583,
    ],
    linear_weight: &[
        -0.0404290232275678,
        -0.09691163735461594,
        0.04845353919453581,
        -0.07746482603587232,
        0.0503451867088229,
        0.05357908639226914,
        0.17185077152713313,
        0.06279758780372746,
        -0.15663426700337063,
        0.034725542968110236,
        -0.13550625614314446,
        -0.08228695504092212,
        -0.08868246523180337,
        0.11927511898521001,
        0.13688859645748794,
    ],
    linear_bias: Some(&[
        -0.00396970547768415,
        -0.09746910742239362,
        0.14251154024108897,
        -0.009357779639893003,
        -0.03171494770111831,
    ]),
};
/// prob none weight ls0.1
const PROB_NONE_WEIGHT_LS0_1: Expected = Expected {
    shape: &[4],
    loss: &[
        2.1895103374116784,
        2.319571972641556,
        2.657063159569508,
        2.1711836022434787,
    ],
    input: &[
        0.08928441560828834,
        -0.11085907712340806,
        0.039429476732167054,
        -0.6187801750281706,
        -0.6716403123311997,
        0.602207136959043,
        -0.1142926599466173,
        0.4242991094031605,
        0.28166864366984373,
        0.9687472454247044,
        0.24500795548856247,
        -0.36209741949941865,
    ],
    linear_weight: &[
        0.3929672166997042,
        -0.18618083598027818,
        -0.23175555916587354,
        -0.1840189232109008,
        0.44932148093674773,
        0.3381051595309999,
        -0.32995385978962444,
        -0.549286733851653,
        -0.12023342290639277,
        0.21261159555106918,
        -0.17911780469619165,
        -0.5836082052875813,
        -0.0916060292502481,
        0.4652638935913756,
        0.5974920278288482,
    ],
    linear_bias: Some(&[
        0.6386361813171174,
        -0.3831745232919335,
        -0.17334990980422638,
        -0.35728261006942186,
        0.2751708618484646,
    ]),
};
/// kdim mean bias
const KDIM_MEAN_BIAS: Expected = Expected {
    shape: &[],
    loss: &[1.960563439879976],
    input: &[
        0.029172346741043957,
        0.06084063164609026,
        0.04706699392334942,
        0.049448723906592607,
        -0.07402377545481177,
        0.033436208905200715,
        -0.00823244087980354,
        0.15015549229339814,
        0.1338238636586987,
        0.05880042519457017,
        -0.12061371960207301,
        -0.15959425944455813,
    ],
    linear_weight: &[
        -0.03932892581578229,
        0.13219634396562263,
        -0.0369628044469093,
        -0.0647658292738765,
        0.10223506122202111,
        0.19078529634041477,
        0.15597812482641898,
        -0.20654022272924571,
        -0.2639882398412018,
        0.0293146105079246,
        0.004564271938015585,
        0.020154096663417012,
        -0.05957218413399652,
        -0.04871586938968253,
        0.04355209249581897,
        -0.08645632682467802,
        -0.06258558316784799,
        0.09714430180690062,
        0.014430223283129725,
        0.0293110020951304,
        0.06092818523290895,
        0.0670324494763514,
        -0.1344634833619701,
        -0.19288001032292923,
        -0.0715072381597699,
        0.09374874605817522,
        0.19647076655938317,
        0.05487509611427857,
        0.09024973336978132,
        -0.1152036844878032,
    ],
    linear_bias: Some(&[
        -0.08161274283410509,
        -0.018147332508893374,
        0.05486161801289237,
        0.06903098061532909,
        -0.02741012725720505,
        -0.024662206722232658,
        0.07799542896761581,
        -0.05195298485688178,
        -0.023834176889198075,
        0.025731543472678746,
    ]),
};
/// kdim none weight
const KDIM_NONE_WEIGHT: Expected = Expected {
    shape: &[4, 2],
    loss: &[
        0.986014759337903,
        0.8009386156507038,
        0.9520657273998252,
        1.7051774481968778,
        4.412523508847949,
        4.393077690745287,
        1.7022064015059832,
        1.1705460935408547,
    ],
    input: &[
        0.6638024197937872,
        -0.24278342745187492,
        -0.25931179271916394,
        0.905487726123581,
        -0.5642750691802245,
        0.12346883072385556,
        -0.3128660289674664,
        1.6172936306248817,
        1.4213140870084877,
        -0.174294456988762,
        0.1392601292665021,
        0.2920638454490437,
    ],
    linear_weight: &[
        -0.07554267861817549,
        0.2868429970426403,
        0.1301499542256167,
        0.23278044760919878,
        0.7411962356067126,
        0.40005799803085274,
        0.39710882490721455,
        -1.0998613500141339,
        -1.996482108799957,
        0.21198841115941297,
        0.41656900349145365,
        0.08177520169142331,
        -0.6497807063786826,
        -0.01919127094149964,
        0.6774518876703065,
        -2.0136702766428507,
        -0.27448244368151015,
        1.4598826196145727,
        -0.039955270007973706,
        0.5416968460293696,
        0.8347749727725725,
        0.3908529132305424,
        -0.5195664022499134,
        -1.5759210373891654,
        0.36816983009761733,
        0.29051277788362356,
        0.35410529413146113,
        1.1780485046436966,
        -0.3637163931667426,
        -0.3657947819476839,
    ],
    linear_bias: Some(&[
        -0.034748664989567114,
        0.6113041768176537,
        -1.3511561461449177,
        0.3848866672167812,
        -0.4485997908592422,
        -1.6656048750760415,
        0.6436193295880092,
        -0.776480969890351,
        1.1908852724057177,
        1.4458950009319573,
    ]),
};
/// unbatched
const UNBATCHED: Expected = Expected {
    shape: &[],
    loss: &[2.38240233160002],
    input: &[0.32550312837565604, 1.2755738298828039, -0.5188372253494598],
    linear_weight: &[
        0.13304176841958062,
        0.0483788248798475,
        -0.08466294353973312,
        0.04129176672493623,
        0.01501518789997681,
        -0.026276578824959415,
        0.7889185844035669,
        0.28687948523766066,
        -0.502039099165906,
        -0.9984386420981799,
        -0.3630685971266109,
        0.635370044971569,
        0.03518652255009608,
        0.012795099109125846,
        -0.02239142344097023,
    ],
    linear_bias: Some(&[
        0.12094706219961875,
        0.03753796974994202,
        0.7171987130941516,
        -0.9076714928165271,
        0.031987747772814615,
    ]),
};
/// unbatched prob
const UNBATCHED_PROB: Expected = Expected {
    shape: &[],
    loss: &[2.366305068781104],
    input: &[0.49555479867812796, 0.5730866309864937, -0.5510066555894771],
    linear_weight: &[
        -0.06531057379738169,
        -0.023749299562684248,
        0.04156127423469742,
        -0.15706057549202607,
        -0.05711293654255493,
        0.09994763894947112,
        0.6265214218854916,
        0.22782597159472423,
        -0.39869545029076736,
        -0.2598601739531989,
        -0.09449460871025414,
        0.16536556524294474,
        -0.14429009864288517,
        -0.05246912677923097,
        0.09182097186365419,
    ],
    linear_bias: Some(&[
        -0.05937324890671061,
        -0.14278234135638732,
        0.5695649289868105,
        -0.23623652177563534,
        -0.13117281694807742,
    ]),
};
/// empty batch mean
const EMPTY_BATCH_MEAN: Expected = Expected {
    shape: &[],
    loss: &[f64::NAN],
    input: &[],
    linear_weight: &[
        0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    ],
    linear_bias: Some(&[0.0, 0.0, 0.0, 0.0, 0.0]),
};
/// empty batch sum
const EMPTY_BATCH_SUM: Expected = Expected {
    shape: &[],
    loss: &[0.0],
    input: &[],
    linear_weight: &[
        0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    ],
    linear_bias: Some(&[0.0, 0.0, 0.0, 0.0, 0.0]),
};
/// zero features
const ZERO_FEATURES: Expected = Expected {
    shape: &[],
    loss: &[1.6602048776023555],
    input: &[],
    linear_weight: &[],
    linear_bias: Some(&[
        -0.023544059826642733,
        -0.08223731333796791,
        0.026593909929492995,
        0.20490580820536633,
        -0.1257183449702488,
    ]),
};

// grads({}, T, lb=LB)  (the plain path, fused)
// grads(dict(weight=CW, ignore_index=4, reduction='none'), T, g=G4)
// grads(dict(weight=CW, reduction='sum'), T, lb=LB)
#[test]
fn class_index_targets_match_torch_with_every_reduction_weight_and_ignore_index() {
    let d = operands();
    let one = arr0(1.0).into_dyn();
    let t = Target::indices(d.t.view());
    let biased = LinearCrossEntropyOptions::default().linear_bias(d.lb.view());
    check(&PLAIN_MEAN_BIAS, &one, (&d.h, &d.lw), t.clone(), &biased);
    let options = LinearCrossEntropyOptions::default()
        .weight(d.cw.view())
        .ignore_index(4)
        .reduction(Reduction::None);
    check(
        &PLAIN_NONE_WEIGHT_II_4_NO_BIAS,
        &d.g4,
        (&d.h, &d.lw),
        t.clone(),
        &options,
    );
    let options = biased.weight(d.cw.view()).reduction(Reduction::Sum);
    check(&PLAIN_SUM_WEIGHT_BIAS, &one, (&d.h, &d.lw), t, &options);
}

// grads(dict(weight=CW, label_smoothing=0.2), T, lb=LB)
// grads({}, P, lb=LB)
// grads(dict(weight=CW, label_smoothing=0.1, reduction='none'), P, g=G4, lb=LB)
#[test]
fn label_smoothing_and_class_probabilities_match_torch() {
    let d = operands();
    let one = arr0(1.0).into_dyn();
    let biased = LinearCrossEntropyOptions::default().linear_bias(d.lb.view());
    let smoothed = biased.clone().weight(d.cw.view()).label_smoothing(0.2);
    let t = Target::indices(d.t.view());
    check(
        &SMOOTH_MEAN_WEIGHT_BIAS_LS_0_2,
        &one,
        (&d.h, &d.lw),
        t,
        &smoothed,
    );
    let p = Target::probabilities(d.p.view());
    check(&PROB_MEAN_BIAS, &one, (&d.h, &d.lw), p.clone(), &biased);
    let options = biased
        .weight(d.cw.view())
        .label_smoothing(0.1)
        .reduction(Reduction::None);
    check(&PROB_NONE_WEIGHT_LS0_1, &d.g4, (&d.h, &d.lw), p, &options);
}

// grads({}, TK, lw=LWK, lb=LBK)
// grads(dict(weight=CW, reduction='none'), TK, g=GK, lw=LWK, lb=LBK)
#[test]
fn k_dimensional_linear_weight_gives_n_c_d_logits_as_torch() {
    let d = operands();
    let one = arr0(1.0).into_dyn();
    let options = LinearCrossEntropyOptions::default().linear_bias(d.lbk.view());
    let tk = Target::indices(d.tk.view());
    check(&KDIM_MEAN_BIAS, &one, (&d.h, &d.lwk), tk.clone(), &options);
    let options = options.weight(d.cw.view()).reduction(Reduction::None);
    check(&KDIM_NONE_WEIGHT, &d.gk, (&d.h, &d.lwk), tk, &options);
}

// grads({}, torch.tensor(3), h=H[1], lb=LB)
// grads({}, P[2], h=H[1], lb=LB)
// grads({}, torch.zeros(0, dtype=torch.long), h=H[:0], lb=LB)   (mean of nothing: NaN)
// grads(dict(reduction='sum'), torch.zeros(0, dtype=torch.long), h=H[:0], lb=LB)
// grads({}, T, h=H[:, :0], lw=LW[:, :0], lb=LB)  (no features: the logits are the bias)
#[test]
fn unbatched_empty_and_featureless_inputs_match_torch() {
    let d = operands();
    let one = arr0(1.0).into_dyn();
    let biased = LinearCrossEntropyOptions::default().linear_bias(d.lb.view());
    let h1 = d.h.index_axis(ndarray::Axis(0), 1).to_owned();
    let three = arr0(3i64).into_dyn();
    check(
        &UNBATCHED,
        &one,
        (&h1, &d.lw),
        Target::indices(three.view()),
        &biased,
    );
    let p2 = d.p.index_axis(ndarray::Axis(0), 2).to_owned();
    check(
        &UNBATCHED_PROB,
        &one,
        (&h1, &d.lw),
        Target::probabilities(p2.view()),
        &biased,
    );
    let empty = zeros64(&[0, 3]);
    let no_target = zeros_i64(&[0]);
    check(
        &EMPTY_BATCH_MEAN,
        &one,
        (&empty, &d.lw),
        Target::indices(no_target.view()),
        &biased,
    );
    let summed = biased.clone().reduction(Reduction::Sum);
    check(
        &EMPTY_BATCH_SUM,
        &one,
        (&empty, &d.lw),
        Target::indices(no_target.view()),
        &summed,
    );
    let (h0, lw0) = (zeros64(&[4, 0]), zeros64(&[5, 0]));
    check(
        &ZERO_FEATURES,
        &one,
        (&h0, &lw0),
        Target::indices(d.t.view()),
        &biased,
    );
}

#[track_caller]
fn assert_lce_err(
    (h, lw): (&ArrayD<f64>, &ArrayD<f64>),
    target: Target<'_, f64>,
    options: &LinearCrossEntropyOptions<'_, f64>,
    kind: ErrorKind,
    message: &str,
    hint_word: &str,
) {
    let forward = linear_cross_entropy(h.view(), lw.view(), target.clone(), options);
    let err = assert_err(forward, kind, message);
    assert!(
        err.hint().contains(hint_word),
        "hint of {err} lacks {hint_word:?}"
    );
    let one = arr0(1.0).into_dyn();
    let backward = linear_cross_entropy_backward(one.view(), h.view(), lw.view(), target, options);
    assert_err(backward, kind, message);
}

// torch 2.13.0 (first line of each exception; H, LW, T as above):
//   F.linear_cross_entropy(torch.tensor(1.0), LW, T)       RuntimeError: expected input with dimensionality 1 or 2, got 0
//   F.linear_cross_entropy(torch.randn(2,3,4), LW, T)      RuntimeError: expected input with dimensionality 1 or 2, got 3
//   F.linear_cross_entropy(H, torch.randn(3), T)           RuntimeError: expected linear_weight with dimensionality at least 2, got 1
//   F.linear_cross_entropy(H, torch.randn(5,4), T)         RuntimeError: expected equal input and linear_weight last dimensions (in_features), got 3 and 4, respectively
//   F.linear_cross_entropy(H, LW, T, linear_bias=torch.randn(4))      RuntimeError: expected linear_bias shape (5,), got (4,)
//   F.linear_cross_entropy(H, LW, T, linear_bias=torch.tensor(1.0))   RuntimeError: expected linear_bias shape (5,), got ()
//   F.linear_cross_entropy(H, LWK, TK, linear_bias=LB)     RuntimeError: expected linear_bias shape (5, 2), got (5,)
//   F.linear_cross_entropy(H[0], LWK, TK)                  RuntimeError: K-dimensional loss defined by linear_weight shape (5, 2, 3) requires batched input, (N, 3), got unbatched input with shape (3,)
//   F.linear_cross_entropy(H, LW, P, ignore_index=-100)    RuntimeError: ignore_index cannot be specified when target contains probabilities
//   F.linear_cross_entropy(H, LW, torch.zeros(4,5,dtype=torch.long))  RuntimeError: Expected floating point type for target with class probabilities, got Long
//   F.linear_cross_entropy(H, LW, torch.tensor([0,5,1,2]))  IndexError: Target 5 is out of bounds.
//   F.linear_cross_entropy(H, LW, torch.tensor([0,1]))      ValueError: Expected input batch_size (4) to match target batch_size (2).
//   F.linear_cross_entropy(H, LW, T, label_smoothing=1.5)   RuntimeError: label_smoothing must be between 0.0 and 1.0. Got: 1.5
//   F.linear_cross_entropy(H, LW, T, weight=torch.rand(4))  RuntimeError: weight tensor should be defined either for all 5 classes or no classes but got weight tensor of shape: [4]
//   the bias check comes before the K-dimensional one, the input's before the weight's:
//   F.linear_cross_entropy(H[0], LWK, TK, linear_bias=LB)  RuntimeError: expected linear_bias shape (5, 2), got (5,)
//   F.linear_cross_entropy(torch.randn(2,3,4), torch.randn(3), T)  RuntimeError: expected input with dimensionality 1 or 2, got 3
#[test]
fn bad_calls_give_torchs_errors_in_torchs_order() {
    let d = operands();
    let opts = LinearCrossEntropyOptions::default();
    let t = Target::indices(d.t.view());
    use ErrorKind::{IndexError, RuntimeError, ValueError};
    let scalar = arr0(1.0).into_dyn();
    assert_lce_err(
        (&scalar, &d.lw),
        t.clone(),
        &opts,
        RuntimeError,
        "expected input with dimensionality 1 or 2, got 0",
        "in_features",
    );
    let cube = zeros64(&[2, 3, 4]);
    assert_lce_err(
        (&cube, &d.lw),
        t.clone(),
        &opts,
        RuntimeError,
        "expected input with dimensionality 1 or 2, got 3",
        "flatten",
    );
    let vector = zeros64(&[3]);
    assert_lce_err(
        (&cube, &vector),
        t.clone(),
        &opts,
        RuntimeError,
        "expected input with dimensionality 1 or 2, got 3",
        "flatten",
    );
    assert_lce_err(
        (&d.h, &vector),
        t.clone(),
        &opts,
        RuntimeError,
        "expected linear_weight with dimensionality at least 2, got 1",
        "nn.Linear",
    );
    let wide = zeros64(&[5, 4]);
    assert_lce_err(
        (&d.h, &wide),
        t.clone(),
        &opts,
        RuntimeError,
        "expected equal input and linear_weight last dimensions (in_features), got 3 and 4, respectively",
        ".T",
    );
    let short_bias = zeros64(&[4]);
    assert_lce_err(
        (&d.h, &d.lw),
        t.clone(),
        &opts.clone().linear_bias(short_bias.view()),
        RuntimeError,
        "expected linear_bias shape (5,), got (4,)",
        "one value per output",
    );
    assert_lce_err(
        (&d.h, &d.lw),
        t.clone(),
        &opts.clone().linear_bias(scalar.view()),
        RuntimeError,
        "expected linear_bias shape (5,), got ()",
        "one value per output",
    );
    let tk = Target::indices(d.tk.view());
    assert_lce_err(
        (&d.h, &d.lwk),
        tk.clone(),
        &opts.clone().linear_bias(d.lb.view()),
        RuntimeError,
        "expected linear_bias shape (5, 2), got (5,)",
        "in_features",
    );
    let h0 = d.h.index_axis(ndarray::Axis(0), 0).to_owned();
    assert_lce_err(
        (&h0, &d.lwk),
        tk.clone(),
        &opts,
        RuntimeError,
        "K-dimensional loss defined by linear_weight shape (5, 2, 3) requires batched input, (N, 3), got unbatched input with shape (3,)",
        "unsqueeze(0)",
    );
    assert_lce_err(
        (&h0, &d.lwk),
        tk,
        &opts.clone().linear_bias(d.lb.view()),
        RuntimeError,
        "expected linear_bias shape (5, 2), got (5,)",
        "in_features",
    );
    let p = Target::probabilities(d.p.view());
    assert_lce_err(
        (&d.h, &d.lw),
        p.clone(),
        &opts.clone().ignore_index(-100),
        RuntimeError,
        "ignore_index cannot be specified when target contains probabilities",
        "not even -100",
    );
    let long_rows = zeros_i64(&[4, 5]);
    assert_lce_err(
        (&d.h, &d.lw),
        Target::indices(long_rows.view()),
        &opts,
        RuntimeError,
        "Expected floating point type for target with class probabilities, got Long",
        ".float()",
    );
    let out_of_range = ai(&[4], &[0, 5, 1, 2]);
    let err = assert_err(
        linear_cross_entropy(
            d.h.view(),
            d.lw.view(),
            Target::indices(out_of_range.view()),
            &opts,
        ),
        IndexError,
        "Target 5 is out of bounds.",
    );
    assert!(!err.hint().is_empty());
    let two = ai(&[2], &[0, 1]);
    assert_err(
        linear_cross_entropy(d.h.view(), d.lw.view(), Target::indices(two.view()), &opts),
        ValueError,
        "Expected input batch_size (4) to match target batch_size (2).",
    );
    assert_err(
        linear_cross_entropy(
            d.h.view(),
            d.lw.view(),
            t.clone(),
            &opts.clone().label_smoothing(1.5),
        ),
        RuntimeError,
        "label_smoothing must be between 0.0 and 1.0. Got: 1.5",
    );
    let four = zeros64(&[4]);
    assert_err(
        linear_cross_entropy(
            d.h.view(),
            d.lw.view(),
            t,
            &opts.clone().weight(four.view()),
        ),
        RuntimeError,
        "weight tensor should be defined either for all 5 classes or no classes but got weight tensor of shape: [4]",
    );
}

// torch 2.13.0:
//   grad_output of the wrong shape: autograd's "Mismatch in shape" (as cross_entropy's backward)
//   w = CW.clone().requires_grad_(True); torch.autograd.grad(F.linear_cross_entropy(H, LW, T, weight=w), w)
//     RuntimeError: The function 'nll_loss_forward' is not differentiable with respect to argument 'weight'. This input cannot have requires_grad True.
//   torch.autograd.grad(F.linear_cross_entropy(H, LW, P, weight=w), w)  -> a gradient, as
//     cross_entropy's on linear(H, LW); so is P's gradient
#[test]
fn class_weight_and_target_gradients_are_cross_entropys_on_the_logits() {
    let d = operands();
    let one = arr0(1.0).into_dyn();
    let options = LinearCrossEntropyOptions::default().weight(d.cw.view());
    let refused = linear_cross_entropy_weight_backward(
        one.view(),
        d.h.view(),
        d.lw.view(),
        Target::indices(d.t.view()),
        &options,
    );
    assert_err(
        refused,
        ErrorKind::RuntimeError,
        "The function 'nll_loss_forward' is not differentiable with respect to argument 'weight'. This input cannot have requires_grad True.",
    );
    let logits =
        d.h.clone()
            .into_dimensionality::<ndarray::Ix2>()
            .unwrap()
            .dot(
                &d.lw
                    .clone()
                    .into_dimensionality::<ndarray::Ix2>()
                    .unwrap()
                    .t(),
            )
            .into_dyn();
    let ce = CrossEntropyOptions::default().weight(d.cw.view());
    let p = Target::probabilities(d.p.view());
    let by_weight = linear_cross_entropy_weight_backward(
        one.view(),
        d.h.view(),
        d.lw.view(),
        p.clone(),
        &options,
    )
    .unwrap();
    let expected =
        cross_entropy_weight_backward(one.view(), logits.view(), p.clone(), &ce).unwrap();
    assert_close(
        &by_weight,
        &[5],
        &expected.iter().copied().collect::<Vec<_>>(),
    );
    let by_target = linear_cross_entropy_target_backward(
        one.view(),
        d.h.view(),
        d.lw.view(),
        p.clone(),
        &options,
    )
    .unwrap();
    let expected = cross_entropy_target_backward(one.view(), logits.view(), p, &ce).unwrap();
    assert_close(
        &by_target,
        &[4, 5],
        &expected.iter().copied().collect::<Vec<_>>(),
    );
    let wrong = arr0(1.0).into_dyn().insert_axis(ndarray::Axis(0));
    let err = linear_cross_entropy_backward(
        wrong.view(),
        d.h.view(),
        d.lw.view(),
        Target::indices(d.t.view()),
        &options,
    )
    .unwrap_err();
    assert!(err.message().starts_with("Mismatch in shape"), "{err}");
}

/// float32 data from integer formulas (numpy float32 rounds the same way):
/// `(k / 997) - 0.5` with `k = (i * 7919 + seed * 104729) % 1000`.
fn gen_centered(n: usize, seed: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7919 + seed * 104729) % 1000) as f32 / 997.0 - 0.5)
        .collect()
}

/// 300 tokens (two row blocks of 256 and 44), 8 features, a vocabulary of 3000 (three
/// vocabulary blocks of 1024, the last partial), a bias, every seventh target ignored.
fn long_vocabulary() -> (ArrayD<f32>, ArrayD<f32>, ArrayD<f32>, ArrayD<i64>) {
    let (n, v, i) = (300, 3000, 8);
    let h = ArrayD::from_shape_vec(IxDyn(&[n, i]), gen_centered(n * i, 1)).unwrap();
    let w = ArrayD::from_shape_vec(IxDyn(&[v, i]), gen_centered(v * i, 2)).unwrap();
    let b = ArrayD::from_shape_vec(IxDyn(&[v]), gen_centered(v, 3)).unwrap();
    let t: Vec<i64> = (0..n)
        .map(|r| {
            if r % 7 == 0 {
                -100
            } else {
                ((r * 37 + 11) % v) as i64
            }
        })
        .collect();
    (h, w, b, ArrayD::from_shape_vec(IxDyn(&[n]), t).unwrap())
}

// torch 2.13.0, float32 (gen as gen_centered; N, V, I = 300, 3000, 8):
//   h = torch.from_numpy(gen(N*I, 1).reshape(N, I)).requires_grad_(True)
//   w = torch.from_numpy(gen(V*I, 2).reshape(V, I)).requires_grad_(True)
//   b = torch.from_numpy(gen(V, 3)).requires_grad_(True)
//   t = torch.from_numpy((np.arange(N) * 37 + 11) % V); t[::7] = -100
//   loss = F.linear_cross_entropy(h, w, t, linear_bias=b); loss.backward()
//   loss -> 8.08424186706543
//   h.grad.double().abs().sum() -> 2.0466953531301897, w.grad: 2.4069080888731413, b.grad: 1.8236761707958067
//   h.grad[299] -> [0.00024859089171513915, 0.000590569747146219, 0.0008531169150955975, 0.0010953375604003668, 0.0012956423452124, 0.001492008683271706, 0.0017008589347824454, -0.0019609136506915092]
//   w.grad[2999] -> [-2.1471747459145263e-05, -1.5851925127208233e-05, 1.3623794984596316e-05, 2.124835373251699e-05, 2.202157338615507e-05, 1.6750242139096372e-05, 1.0940555512206629e-05, 4.347746198618552e-06]
//   b.grad[1024:1028] -> [0.00024400722759310156, 0.0002351188741158694, 0.00020817399490624666, 0.0001926775003084913]
#[test]
fn a_vocabulary_across_blocks_matches_torch_in_float32() {
    let (h, w, b, t) = long_vocabulary();
    let options = LinearCrossEntropyOptions::default().linear_bias(b.view());
    let (loss, grads) = linear_cross_entropy_with_grad(
        arr0(1.0f32).view(),
        h.view(),
        w.view(),
        Target::indices(t.view()),
        &options,
    )
    .unwrap();
    assert_close_f32(&loss, &[], &[8.084_242]);
    let abs_sum = |a: &ArrayD<f32>| a.iter().map(|&v| f64::from(v).abs()).sum::<f64>();
    for (got, torch) in [
        (abs_sum(&grads.input), 2.0466953531301897),
        (abs_sum(&grads.linear_weight), 2.4069080888731413),
        (
            abs_sum(grads.linear_bias.as_ref().unwrap()),
            1.8236761707958067,
        ),
    ] {
        assert!(
            (got - torch).abs() <= 1e-5 * torch,
            "sum of |grad|: rust {got}, torch {torch}"
        );
    }
    let row = |a: &ArrayD<f32>, r: usize| a.index_axis(ndarray::Axis(0), r).to_owned();
    assert_close_f32(
        &row(&grads.input, 299),
        &[8],
        &[
            0.00024859089171513915,
            0.000590569747146219,
            0.0008531169150955975,
            0.0010953375604003668,
            0.0012956423452124,
            0.001492008683271706,
            0.0017008589347824454,
            -0.0019609136506915092,
        ]
        .map(|v: f64| v as f32),
    );
    assert_close_f32(
        &row(&grads.linear_weight, 2999),
        &[8],
        &[
            -2.1471747459145263e-05,
            -1.5851925127208233e-05,
            1.3623794984596316e-05,
            2.124835373251699e-05,
            2.202157338615507e-05,
            1.6750242139096372e-05,
            1.0940555512206629e-05,
            4.347746198618552e-06,
        ]
        .map(|v: f64| v as f32),
    );
    let bias = grads.linear_bias.unwrap();
    assert_close_f32(
        &bias.slice(ndarray::s![1024..1028]).to_owned().into_dyn(),
        &[4],
        &[
            0.00024400722759310156,
            0.0002351188741158694,
            0.00020817399490624666,
            0.0001926775003084913,
        ]
        .map(|v: f64| v as f32),
    );
}

/// `cross_entropy`'s logit gradient with each counted position's target entry set to
/// minus the others' sum, as the fused path forms it.
fn targets_from_others(g: &mut ArrayD<f32>, targets: &ArrayD<i64>) {
    let n = g.shape()[0];
    let per_sample = g.len() / n.max(1);
    let map = targets.len() / n.max(1);
    let targets = targets.as_slice().unwrap();
    for (s, block) in g.as_slice_mut().unwrap().chunks_mut(per_sample).enumerate() {
        for j in 0..map {
            let t = targets[s * map + j];
            if t != -100 {
                target_from_others(&mut block[j..], map, t as usize);
            }
        }
    }
}

/// The fused path's loss has `cross_entropy`'s bits on the same logits, and its
/// gradients the bits of the reference path (the whole logits' gradient, each target
/// entry set to minus the others' sum, multiplied out block by block), on a vocabulary
/// across blocks and on K-dimensional logits.
#[test]
fn the_fused_path_gives_cross_entropys_bits_on_the_same_logits() {
    let (h, w, b, t) = long_vocabulary();
    let options = LinearCrossEntropyOptions::default().linear_bias(b.view());
    let target = Target::indices(t.view());
    for reduction in [Reduction::Mean, Reduction::Sum, Reduction::None] {
        let options = options.clone().reduction(reduction);
        let lin = Linear::new(h.view(), w.view(), &target, &options).unwrap();
        let logits = lin.logits().unwrap();
        assert_eq!(logits.shape(), &[300, 3000]);
        let grad_output = if reduction == Reduction::None {
            ArrayD::from_shape_vec(IxDyn(&[300]), gen_centered(300, 4)).unwrap()
        } else {
            arr0(0.75f32).into_dyn()
        };
        let ce_options = CrossEntropyOptions::default().reduction(reduction);
        let (ce_loss, mut ce_grad) = cross_entropy_with_grad(
            grad_output.view(),
            logits.view(),
            target.clone(),
            &ce_options,
        )
        .unwrap();
        targets_from_others(&mut ce_grad, &t);
        let fused = linear_cross_entropy(h.view(), w.view(), target.clone(), &options).unwrap();
        let (loss, grads) = linear_cross_entropy_with_grad(
            grad_output.view(),
            h.view(),
            w.view(),
            target.clone(),
            &options,
        )
        .unwrap();
        assert_eq!(bits(&fused), bits(&ce_loss), "{reduction:?} forward");
        assert_eq!(bits(&loss), bits(&ce_loss), "{reduction:?} with grad");
        let reference = lin.grads_from_logits(&ce_grad).unwrap();
        assert_eq!(bits(&grads.input), bits(&reference.input.into_dyn()));
        assert_eq!(
            bits(&grads.linear_weight),
            bits(&reference.linear_weight.into_dyn())
        );
        let reference_bias =
            ArrayD::from_shape_vec(IxDyn(&[3000]), reference.linear_bias.unwrap()).unwrap();
        assert_eq!(
            bits(grads.linear_bias.as_ref().unwrap()),
            bits(&reference_bias)
        );
    }
    // K-dimensional: linear_weight (7, 3, 8) gives (N, 7, 3) logits.
    let wk = ArrayD::from_shape_vec(IxDyn(&[7, 3, 8]), gen_centered(168, 5)).unwrap();
    let tk: Vec<i64> = (0..900).map(|i| ((i * 5 + 1) % 7) as i64).collect();
    let tk = ArrayD::from_shape_vec(IxDyn(&[300, 3]), tk).unwrap();
    let target = Target::indices(tk.view());
    let options = LinearCrossEntropyOptions::default();
    let lin = Linear::new(h.view(), wk.view(), &target, &options).unwrap();
    let logits = lin.logits().unwrap();
    assert_eq!(logits.shape(), &[300, 7, 3]);
    let one = arr0(1.0f32).into_dyn();
    let (ce_loss, mut ce_grad) = cross_entropy_with_grad(
        one.view(),
        logits.view(),
        target.clone(),
        &CrossEntropyOptions::default(),
    )
    .unwrap();
    targets_from_others(&mut ce_grad, &tk);
    let (loss, grads) =
        linear_cross_entropy_with_grad(one.view(), h.view(), wk.view(), target, &options).unwrap();
    assert_eq!(bits(&loss), bits(&ce_loss));
    let reference = lin.grads_from_logits(&ce_grad).unwrap();
    assert_eq!(bits(&grads.input), bits(&reference.input.into_dyn()));
    assert_eq!(grads.linear_weight.shape(), &[7, 3, 8]);
    assert_eq!(
        bits(&grads.linear_weight),
        bits(&reference.linear_weight.into_dyn())
    );
}

fn bits(a: &ArrayD<f32>) -> Vec<u32> {
    a.iter().map(|v| v.to_bits()).collect()
}

/// Loss and gradients in rayon pools of 1, 2 and 4 threads: the same bits, on the
/// fused path (long vocabulary, two row blocks), with label smoothing (reference path)
/// and with K-dimensional logits.
#[test]
fn results_do_not_depend_on_the_thread_count() {
    let (h, w, b, t) = long_vocabulary();
    let wk = ArrayD::from_shape_vec(IxDyn(&[1000, 3, 8]), gen_centered(24000, 6)).unwrap();
    let tk: Vec<i64> = (0..900).map(|i| ((i * 13 + 1) % 1000) as i64).collect();
    let tk = ArrayD::from_shape_vec(IxDyn(&[300, 3]), tk).unwrap();
    let run = || {
        let mut out = Vec::new();
        let biased = LinearCrossEntropyOptions::default().linear_bias(b.view());
        for (w, t, options) in [
            (&w, &t, biased.clone()),
            (&w, &t, biased.clone().label_smoothing(0.1)),
            (&wk, &tk, LinearCrossEntropyOptions::default()),
        ] {
            let (loss, grads) = linear_cross_entropy_with_grad(
                arr0(1.0f32).view(),
                h.view(),
                w.view(),
                Target::indices(t.view()),
                &options,
            )
            .unwrap();
            out.push(bits(&loss));
            out.push(bits(&grads.input));
            out.push(bits(&grads.linear_weight));
            out.extend(grads.linear_bias.as_ref().map(bits));
        }
        out
    };
    let results: Vec<_> = [1, 2, 4]
        .iter()
        .map(|&threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(run)
        })
        .collect();
    assert!(results[0].iter().all(|v| !v.is_empty()));
    assert_eq!(results[0], results[1], "1 and 2 threads");
    assert_eq!(results[0], results[2], "1 and 4 threads");
}

#[test]
fn python_tuples_print_as_repr() {
    let err = logits_shape(&[2, 3], &[5, 2, 4, 3], Some(&[5]), &[2], false).unwrap_err();
    assert_eq!(
        err.message(),
        "expected linear_bias shape (5, 2, 4), got (5,)"
    );
    assert_eq!(
        logits_shape(&[2, 3], &[5, 2, 4, 3], None, &[2, 2, 4], false).unwrap(),
        vec![2, 5, 2, 4]
    );
    assert_eq!(
        logits_shape(&[3], &[5, 3], None, &[], true).unwrap(),
        vec![5]
    );
}

#[test]
fn a_strided_input_gives_the_contiguous_inputs_results() {
    let d = operands();
    let transposed = d.h.t().to_owned();
    let strided = transposed.t();
    let options = LinearCrossEntropyOptions::default().linear_bias(d.lb.view());
    let loss =
        linear_cross_entropy(strided, d.lw.view(), Target::indices(d.t.view()), &options).unwrap();
    assert_close(&loss, &[], PLAIN_MEAN_BIAS.loss);
}

// The conformance campaign's case (torch 2.13.0): a K-dimensional linear_weight
// (2, 2, 2, 4), input [[512, -2.25, -2, -0.375]], target zeros (1, 2, 2), class weight
// [0.4485099, 1.7102076], reduction="none", grad_output [0, -1.3350555, 0, 0]. At the
// position with a gradient the target's probability is 1 - 2.0e-6, so its own entry
// `g * (p_t - 1)` keeps one or two float32 digits. Exact (float64):
// grad_linear_weight[0, 1, 0, :] = [6.297996680108401e-4, -2.767674322313262e-6,
// -2.460154953167344e-6, -4.6127905371887704e-7]; libtorch float32 gives 6.212985e-4.
#[test]
fn a_target_probability_near_one_keeps_its_gradients_digits_in_float32() {
    let lw: Vec<f32> = vec![
        0.7128457,
        0.45646754,
        -0.14171687,
        -0.54203945,
        -0.3680526,
        -0.81708497,
        0.8841452,
        1.4480525,
        -0.9481197,
        -1.0692285,
        -1.4917074,
        0.93878484,
        -0.52506304,
        -0.2486717,
        1.1723739,
        1.3170007,
        -0.1689485,
        -0.50079143,
        1.3354532,
        0.28876624,
        -0.3802734,
        0.78074014,
        0.40609297,
        1.3134607,
        0.71942717,
        0.6854578,
        -0.34427223,
        1.1382735,
        -1.1431172,
        1.306543,
        1.2275984,
        1.3185933,
    ];
    let lb: Vec<f32> = vec![-1.375, 2.125, -2.25, -1.0, 2.5, -2.125, -1.5, -2.375];
    let h = ArrayD::from_shape_vec(IxDyn(&[1, 4]), vec![512.0f32, -2.25, -2.0, -0.375]).unwrap();
    let lw = ArrayD::from_shape_vec(IxDyn(&[2, 2, 2, 4]), lw).unwrap();
    let lb = ArrayD::from_shape_vec(IxDyn(&[2, 2, 2]), lb).unwrap();
    let cw = ArrayD::from_shape_vec(IxDyn(&[2]), vec![0.4485099f32, 1.7102076]).unwrap();
    let t = ArrayD::from_shape_vec(IxDyn(&[1, 2, 2]), vec![0i64; 4]).unwrap();
    let go = ArrayD::from_shape_vec(IxDyn(&[1, 2, 2]), vec![0.0f32, -1.3350555, 0.0, 0.0]).unwrap();
    let options = LinearCrossEntropyOptions::default()
        .linear_bias(lb.view())
        .weight(cw.view())
        .reduction(Reduction::None);
    let grads = linear_cross_entropy_backward(
        go.view(),
        h.view(),
        lw.view(),
        Target::indices(t.view()),
        &options,
    )
    .unwrap();
    let exact = [
        6.297996680108401e-4,
        -2.767674322313262e-6,
        -2.460154953167344e-6,
        -4.6127905371887704e-7,
    ];
    let got = grads.linear_weight.as_slice().unwrap();
    for (k, e) in exact.iter().enumerate() {
        let g = f64::from(got[4 + k]);
        // The float32 logits near -190 are each off by up to 7.6e-6 (half an ulp), and
        // class 1's probability with them: 1e-4 relative is that rounding, well inside
        // it libtorch's 1.3% is not.
        assert!(
            (g - e).abs() <= 1e-4 * e.abs(),
            "[{}]: {g} against {e}",
            4 + k
        );
    }
    // Every other entry of the gradient has no gradient output behind it but class 1's
    // probability, which does not cancel.
    assert!(got[..4].iter().chain(&got[8..16]).all(|&v| v == 0.0));
}
