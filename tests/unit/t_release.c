/*
 * t_release.c: parsing Release files (a Debian-like and an Ubuntu-like
 * one, written out below) and choosing which of their files a mirror
 * copies.
 */
#include "mirrord/common.h"

#include "mirrord/conf.h"
#include "mirrord/hash.h"
#include "sync/release.h"
#include "tap.h"

/*
 * The two Release texts were generated once (by a throw-away script) from
 * lists of paths modelled on Debian testing and Ubuntu jammy: every hash
 * is the digest of the path itself (MD5 for MD5Sum, SHA-1 for SHA1,
 * SHA-256 for SHA256), so a test can recompute the expected SHA-256 of any
 * entry with hash_buf(). Debian aligns sizes in 8 columns, Ubuntu in 16.
 */
/* debian_release: generated; every hash is the digest of the path itself. */
static const char debian_release[] =
    "Origin: Debian\n"
    "Label: Debian\n"
    "Suite: testing\n"
    "Codename: forky\n"
    "Changelogs: https://metadata.ftp-master.debian.org/changelogs/@CHANGEPATH@_changelog\n"
    "Date: Sat, 29 Nov 2025 08:00:00 UTC\n"
    "Valid-Until: Sat, 06 Dec 2025 08:00:00 UTC\n"
    "Acquire-By-Hash: yes\n"
    "No-Support-for-Architecture-all: Packages\n"
    "Architectures: all amd64 arm64 armel armhf i386 ppc64el riscv64 s390x\n"
    "Components: main contrib non-free-firmware non-free\n"
    "Description: Debian x.y Testing distribution - Not Released\n"
    "MD5Sum:\n"
    " 4a79cffd5215b30a76886bde1cf5756c 21732148 main/Contents-all\n"
    " aafb846d42b16b034790fa9b4c8036e0 10123416 main/Contents-all.diff/Index\n"
    " d4c38d847d9ae136b100944a20fb96cc 26496256 main/Contents-all.gz\n"
    " b24a827c75719e5353bed7c85a0ca11d 43683573 main/Contents-amd64\n"
    " 9856cde629093ee7068b9fece534ca6e  3240547 main/Contents-amd64.diff/Index\n"
    " 2b0a31731c80117890bd45ba0b173a4f  4861216 main/Contents-amd64.gz\n"
    " aeca2c29b11882737e91b3f1b5d7c5bf 55114884 main/Contents-arm64.gz\n"
    " 50418d45379464ce858dc1b0209e279c 35962532 main/Contents-source.gz\n"
    " e7a33287e37afe637da3e2ea6d327ac1  6317060 main/Contents-udeb-amd64.gz\n"
    " 58102c55b795be8105bd8dfc4c1e56ea 24541067 main/binary-all/Packages\n"
    " 6d1c7780c1674b849cf6ecc06c59567c 39110341 main/binary-all/Packages.diff/Index\n"
    " 430ee74a3e6510b3dea22b501e696ba0  3892341 main/binary-all/Packages.gz\n"
    " 7fe0f9c19be613449b34bd7bd5c53d93 34053535 main/binary-all/Packages.xz\n"
    " b4910172569d7832f99d94dc7fe5efcd 14408251 main/binary-all/Release\n"
    " 0d3a31af2bf9ab78412cbc774364ed6c  2516391 main/binary-amd64/Packages\n"
    " f96f1df5e193eb48331a77390ea30f05  5767921 main/binary-amd64/Packages.diff/Index\n"
    " 5ce3dd986801657a384bb130eb44afda 29101569 main/binary-amd64/Packages.gz\n"
    " de54075fa3c455ebea0f2dd21f23f6b1 28063158 main/binary-amd64/Packages.xz\n"
    " c59d3c606b4c1b0a1e50f9c1a4389471  4688018 main/binary-amd64/Release\n"
    " e7079d9ecb4c3d7fffe43eda4e1a3719 16150720 main/binary-arm64/Packages.diff/Index\n"
    " de8fae72163eafc1dc8370ca607c92fa  6087747 main/binary-arm64/Packages.gz\n"
    " 4fb644798928d457e3ecedf65b70d587 36980255 main/binary-arm64/Packages.xz\n"
    " 33c4a773be34c5887a05b4ed6675c5f8 28489100 main/binary-arm64/Release\n"
    " b02a9978991080c1ca644e3dbd3b17cc  3966938 main/binary-i386/Packages.xz\n"
    " 67cb68cea8b3a0f9d9c3296eb3de5d0c 55489206 main/cnf/Commands-amd64.xz\n"
    " 0c93f4142a50ae705b5b525e5988b481 37947055 main/cnf/Commands-arm64.xz\n"
    " fae43995e3357e889a1e4dfc94ab08b7  8308308 main/debian-installer/binary-amd64/Packages.gz\n"
    " 78b00a658cb4c13c6fa5ad3925c5b474 14981413 main/debian-installer/binary-amd64/Packages.xz\n"
    " 71723648d4d53d93e64272424e9ba189 42320688 main/debian-installer/binary-amd64/Release\n"
    " 88ae6e56d4734b3be38aa173b02064c6 42106430 main/dep11/CID-Index-amd64.json.gz\n"
    " 148e917ae16e9bf3b36de0d1445c01a7 39124359 main/dep11/CID-Index-arm64.json.gz\n"
    " 10f57aad38a6e705525ea9cdda953294  4151591 main/dep11/Components-amd64.yml.xz\n"
    " 41c454533a74b59ba0122c8f93b1a27b 38728823 main/dep11/Components-arm64.yml.xz\n"
    " 43fddac85de7b165f192c48165b33490 39295119 main/dep11/icons-128x128.tar.gz\n"
    " c1fe59f906c240290e23a1fc25d09a7c 26620876 main/dep11/icons-64x64.tar.gz\n"
    " 7d7eee62c6856dbd4d95c6fd3a5b3f26  3327982 main/dep11/icons-64x64@2.tar.gz\n"
    " a1051cabd34070fb487df47ab7f91d4a 14836650 main/i18n/Translation-de.bz2\n"
    " 67ca83e2ec2b97d04489780383bd8063  3126210 main/i18n/Translation-en\n"
    " fa6ca61c26ef8f6e0b9983a24c21a25c 37357248 main/i18n/Translation-en.bz2\n"
    " 7ac049ca928586872f0002b9db6fd8e1 57610943 main/i18n/Translation-en.diff/Index\n"
    " b2a9bde9c1dede8a0965ad8345cedeb2  8937310 main/source/Release\n"
    " 0c2044fdf34ee1815ef3a72f41b4c05d 19435450 main/source/Sources\n"
    " 0a9446eeb395555b5d76fb4cac8f906d 28128045 main/source/Sources.diff/Index\n"
    " 32890182b748bb9f78a302d9955dcb9e  9680894 main/source/Sources.gz\n"
    " 75bd64e46138bb54ed0237a10c691a98 36284915 main/source/Sources.xz\n"
    " 748c10f8d7b7d1b9e7a45cad4538a764  7905003 contrib/Contents-amd64.gz\n"
    " eba0eeaa86522e4b182fbf36952a76f4 38313469 contrib/binary-amd64/Packages.xz\n"
    " 8346c10cf50a51ff87191ecf29fc2a6e 20701964 contrib/source/Sources.xz\n"
    " 0f2db3c6f5e64492ef497a8ef6f24843 37598329 non-free-firmware/binary-amd64/Packages.xz\n"
    " 9f4f89c30837c564006fb9a7752887e1 54769412 non-free-firmware/i18n/Translation-en.bz2\n"
    "SHA256:\n"
    " 770e8b0a1251d1d76d998a976708ca9e65b87ae4151897acf5484f068ca1a9d2 21732148 main/Contents-all\n"
    " e8ca294809c23e7df40589e439e0b68a990161ba0b4ce8431f7e4b4bcd804490 10123416 main/Contents-all.diff/Index\n"
    " cec89b86d53be7b3b11304d2834be795575d56d4cbdd7b25f6919c994d25362f 26496256 main/Contents-all.gz\n"
    " cf5bab499bef092025c97ecd92aa30b69ad9334d0f19b1f4c083cf6d169e0a40 43683573 main/Contents-amd64\n"
    " 5bec25b09d230bced6648cc3e9d0e6c1155813c80b2ef1d7b9068f99df10772b  3240547 main/Contents-amd64.diff/Index\n"
    " 3e4e22bbf5364ffce917bbcf1fae7be23203053ca443b0ede80038c134e66272  4861216 main/Contents-amd64.gz\n"
    " 89d200a93c1f918a9683431b0bda1b33e3bc8179d7599815a7b35846b5216dc3 55114884 main/Contents-arm64.gz\n"
    " 48b7b26fe1fb3b8fbbc012695ae047f7c5d17931d24d1711f5ccdfec3a788175 35962532 main/Contents-source.gz\n"
    " 9f8fdfbaae295822a39e1908a845a1ddf6b029bccb33fc61dc4d69a634878b12  6317060 main/Contents-udeb-amd64.gz\n"
    " 75a0f6ca5b87431a4be963d76cc63b5012af961d747d2cbcf516e4820532f0dd 24541067 main/binary-all/Packages\n"
    " 048fd0f59c3e479f019ea433e6165f5f3b03e46c863b6a1d870c801da59e2fef 39110341 main/binary-all/Packages.diff/Index\n"
    " 4bc4422e65284fd1f951286890878fc5190200cfa4380c73c6ef5cb7fd948d74  3892341 main/binary-all/Packages.gz\n"
    " e5d69ca0eaf4f4214dddfdab65f3cb813110a79472f8ddb17eca06053fad2957 34053535 main/binary-all/Packages.xz\n"
    " e2985ee4532e312de90bc46e9dd25c796b89a7a7a9b56b192110cd30599e26c3 14408251 main/binary-all/Release\n"
    " a5fcac504951e1ad698631619f02a0e9575cdfc64226106c3083986c5bc80b84  2516391 main/binary-amd64/Packages\n"
    " 617d0c0658361686418b7ad402ff5b99fe7e66f187d953d2464ddc4e94850905  5767921 main/binary-amd64/Packages.diff/Index\n"
    " 57b3a6c520d45562eb6686875805c4b47cc90a72dfcc5d09e2535fbf3eb58847 29101569 main/binary-amd64/Packages.gz\n"
    " cc1bc17965c91fb1034bd334d1ff78b081c4539b986e987d407305a3061b8f2e 28063158 main/binary-amd64/Packages.xz\n"
    " 65b987a25b0fa24fe635748c3a7c5ad582c04d18c742afadfe8f87944a56e690  4688018 main/binary-amd64/Release\n"
    " e42aa6f26f1dced955f83621ef35b3ee309e14bd0af65d60aa77456f873f2f38 16150720 main/binary-arm64/Packages.diff/Index\n"
    " b455eafb7b0b8da2362e9cb1df6b8fcbdf213c35605677f0c15a7bb11bbe0aa2  6087747 main/binary-arm64/Packages.gz\n"
    " 30422870574d2820f3f2d51d073be9decc5e852e242070962bbee986c8d38ecf 36980255 main/binary-arm64/Packages.xz\n"
    " f6af3f37c816f07006bc935ed6f33ecd6b364d15d1136aaa79208837d97df724 28489100 main/binary-arm64/Release\n"
    " a225ef4759217827a1827cbf65dcc63993c740ffef4df600ac564871482f185a  3966938 main/binary-i386/Packages.xz\n"
    " de0ecbaf3d39d3f150ab0119b54656e2d39eb672d0ea8f4d8574f1fd48fa636f 55489206 main/cnf/Commands-amd64.xz\n"
    " 6c607e74177c85d0bdafb4693b010f90f6a0e178ce34ee5c70ae59ffa7900df8 37947055 main/cnf/Commands-arm64.xz\n"
    " 1edaf76730d7ed059630f5dfbd009ca343ba11e56c92f4f5578789145d6f1b48  8308308 main/debian-installer/binary-amd64/Packages.gz\n"
    " 8f3cf786a6e6be7ca14beb370abd508fda57766fb502caaeece79cf73ab801b9 14981413 main/debian-installer/binary-amd64/Packages.xz\n"
    " f48850e03cd271851781969ec0e46c6763d19e3a1ef9196a97ae3ddc4bd3d397 42320688 main/debian-installer/binary-amd64/Release\n"
    " 919060e80ff54ad66ec6afb91c0daa62e30ed81a694438f9dfb4710808dd141f 42106430 main/dep11/CID-Index-amd64.json.gz\n"
    " 2a859e1ae495498dc5024f744d3890d3fdeff96ad87a3eb50c042e7b59acdc68 39124359 main/dep11/CID-Index-arm64.json.gz\n"
    " 55cb081241ea411ceac35e9b92a7e3bb912c7b25f10d4981a6e38ef5eb8830d4  4151591 main/dep11/Components-amd64.yml.xz\n"
    " 3942807642779cffcf08f6a2ef9ccb5ee51ac84b9d4c0576f0a0e07fd4008e02 38728823 main/dep11/Components-arm64.yml.xz\n"
    " bed0270d3d74ca72746ac8a6b498a3649c08ae6680d5be4eebe0066eaf0a79c1 39295119 main/dep11/icons-128x128.tar.gz\n"
    " f17a6fd64ef0a6284f04459994cc18e53d391f0fd6ad72de694e928a67fab3e7 26620876 main/dep11/icons-64x64.tar.gz\n"
    " e580dc096fee37c4e02efcc5b991d2d7c6d65350f1df5ebb7ed2e870aa942f47  3327982 main/dep11/icons-64x64@2.tar.gz\n"
    " e83cdf8ca0dc885cf6113fc93a139e08371f61f88ecfe26253ca079832b859b4 14836650 main/i18n/Translation-de.bz2\n"
    " 5bc41c4cc5672f360f77003f2192407a68c81111dbe48b9f422612b8c40bad5c  3126210 main/i18n/Translation-en\n"
    " 6088e2068b235c5213fcb06fd7ad7136812ff5c4c8fff4f6ebc88d6e350857e2 37357248 main/i18n/Translation-en.bz2\n"
    " b0d2186fd9190ed30235428d8790da3edc4c68ffb8f18391ba9c08ec1baade92 57610943 main/i18n/Translation-en.diff/Index\n"
    " 4ab6676e710b44439e4f46e3915a2488cb7e57a7683dcdf2f8d1c17b6da7953e  8937310 main/source/Release\n"
    " a1746dfc6432e05f755aeb58a0d3ab5d4eb58e0ba21d0c12cc47653a06f01a0c 19435450 main/source/Sources\n"
    " 83ac1cbb43c45cc60b4b6dbbf537d0de1ee54125730d610830a67bf5e233c16d 28128045 main/source/Sources.diff/Index\n"
    " 3d66788b079cd4aa433bbc931357d70b16795779d9bba80f4a1835ee5eec60ad  9680894 main/source/Sources.gz\n"
    " ec98ffcaf761d568b0fd9d2bb82eaec9014ce8c2f39241288b7f68a44d558d2e 36284915 main/source/Sources.xz\n"
    " 798b6a863b688b71f4fea36c42055233c731c1421a6edef6c3c4ce1106914ea8  7905003 contrib/Contents-amd64.gz\n"
    " 6fc33d76c1ca025256e9c95d94c6c665e30c68f680944b39df9426cab4d15eff 38313469 contrib/binary-amd64/Packages.xz\n"
    " 3a1c7f4f83b4d4564b7111360d79b2471979f409a3f58ac9802cd528c5591fce 20701964 contrib/source/Sources.xz\n"
    " 9527d7d4661aba39ab864c8dbd1adfc4f097e0c94fdc0912b0a0a6522227fa40 37598329 non-free-firmware/binary-amd64/Packages.xz\n"
    " 13181802c92b5bc1382a2bce1df6f9d6b265fdc2f7498644935e3e633381855f 54769412 non-free-firmware/i18n/Translation-en.bz2\n"
;
/* ubuntu_release: generated; every hash is the digest of the path itself. */
static const char ubuntu_release[] =
    "Origin: Ubuntu\n"
    "Label: Ubuntu\n"
    "Suite: jammy\n"
    "Version: 22.04\n"
    "Codename: jammy\n"
    "Date: Thu, 21 Apr 2022 17:16:08 UTC\n"
    "Architectures: amd64 arm64 armhf i386 ppc64el riscv64 s390x\n"
    "Components: main restricted universe multiverse\n"
    "Description: Ubuntu Jammy 22.04\n"
    "Acquire-By-Hash: yes\n"
    "MD5Sum:\n"
    " dc13fbeeb55e57fb12e2d2cd88d839ac         45768526 Contents-amd64.gz\n"
    " 697d9c46909cdcaf274c5a219b31ec81         12128442 Contents-arm64.gz\n"
    " 95338c22945c55e86df3e3d7ec129a7e          6916051 Contents-i386.gz\n"
    " 0d3a31af2bf9ab78412cbc774364ed6c         39030626 main/binary-amd64/Packages\n"
    " 5ce3dd986801657a384bb130eb44afda         38332977 main/binary-amd64/Packages.gz\n"
    " de54075fa3c455ebea0f2dd21f23f6b1         42876857 main/binary-amd64/Packages.xz\n"
    " c59d3c606b4c1b0a1e50f9c1a4389471         12607911 main/binary-amd64/Release\n"
    " 4fb644798928d457e3ecedf65b70d587         24991276 main/binary-arm64/Packages.xz\n"
    " b02a9978991080c1ca644e3dbd3b17cc          6538555 main/binary-i386/Packages.xz\n"
    " 67cb68cea8b3a0f9d9c3296eb3de5d0c         36758608 main/cnf/Commands-amd64.xz\n"
    " 0c93f4142a50ae705b5b525e5988b481         47789044 main/cnf/Commands-arm64.xz\n"
    " fae43995e3357e889a1e4dfc94ab08b7          4213796 main/debian-installer/binary-amd64/Packages.gz\n"
    " 78b00a658cb4c13c6fa5ad3925c5b474         37874215 main/debian-installer/binary-amd64/Packages.xz\n"
    " 88ae6e56d4734b3be38aa173b02064c6          3999866 main/dep11/CID-Index-amd64.json.gz\n"
    " 10f57aad38a6e705525ea9cdda953294         41541130 main/dep11/Components-amd64.yml.xz\n"
    " 41c454533a74b59ba0122c8f93b1a27b         13821755 main/dep11/Components-arm64.yml.xz\n"
    " 5e52564fc01b2233da00d2bd71a48163         33313912 main/dep11/icons-48x48.tar.gz\n"
    " c1fe59f906c240290e23a1fc25d09a7c         45660969 main/dep11/icons-64x64.tar.gz\n"
    " 7d321cf6aed742d27670e1903524cf0a         35683241 main/i18n/Index\n"
    " fa6ca61c26ef8f6e0b9983a24c21a25c         28695333 main/i18n/Translation-en.bz2\n"
    " d5278403c4315cf6fcb6d4400d00c792         52159040 main/i18n/Translation-fr.bz2\n"
    " b2a9bde9c1dede8a0965ad8345cedeb2         21082159 main/source/Release\n"
    " 32890182b748bb9f78a302d9955dcb9e         31246112 main/source/Sources.gz\n"
    " 75bd64e46138bb54ed0237a10c691a98         39296491 main/source/Sources.xz\n"
    " 1f6141613c515ec281d8a100d907134c         30412788 main/uefi/grub2-amd64/current/SHA256SUMS\n"
    " a72f0939b82123e63a17c4036facfce9         24265481 restricted/binary-amd64/Packages.xz\n"
    " 377e9597a2b7a54f94cb6aa6f98365c5         20117122 universe/binary-amd64/Packages.xz\n"
    " 761a15e25da56df9261c4f31901aad3c         16671725 universe/dep11/Components-amd64.yml.xz\n"
    " ec09aff0338fecdf5e59c9f77ebe8dfc         53310004 universe/i18n/Translation-en.bz2\n"
    " 6eb060174673e20550c81d69f42d3a83         12064042 universe/source/Sources.xz\n"
    "SHA1:\n"
    " 0c2858641bf947e564609d6062444ebc4f8f9a73         45768526 Contents-amd64.gz\n"
    " 8a466e60da24d90e3dce2d9fe1cd1b1aec17afb4         12128442 Contents-arm64.gz\n"
    " f9df0e6beaafbf35a23d4ba9d8a7b28512576406          6916051 Contents-i386.gz\n"
    " 368567005d67ed17d008ec246bf7ab54a5534b90         39030626 main/binary-amd64/Packages\n"
    " 5eeff0ed52e26b9f66a863ca3a8b9d565463777b         38332977 main/binary-amd64/Packages.gz\n"
    " afaf9f1615959863d10eb969c3ba2ed74ab5309c         42876857 main/binary-amd64/Packages.xz\n"
    " 1f274b1bd2378254dad773fc2e943aca87919f0b         12607911 main/binary-amd64/Release\n"
    " b01ff270831186512fb244ec111222e8dd08e584         24991276 main/binary-arm64/Packages.xz\n"
    " dd115c86ad796ecfb2fc924264fb65c2f1a7d395          6538555 main/binary-i386/Packages.xz\n"
    " eab2f0123eec1b24b3f92f9d2fa05900ce9a1a52         36758608 main/cnf/Commands-amd64.xz\n"
    " 431283f5b533286b412f3c1791152919528ac409         47789044 main/cnf/Commands-arm64.xz\n"
    " 1b10ba775b6606ecb8ac1bd9b9443ad85deea9a4          4213796 main/debian-installer/binary-amd64/Packages.gz\n"
    " 46e1bbf75ed163ee6c7857a3f516d7200683774a         37874215 main/debian-installer/binary-amd64/Packages.xz\n"
    " ce80a2679c96a488161954e0a879c10fef270550          3999866 main/dep11/CID-Index-amd64.json.gz\n"
    " a4bfd397f1937ba695d0da876fc0426d18d6680e         41541130 main/dep11/Components-amd64.yml.xz\n"
    " f13b6e949a78b5fb2a47318b4f04fc4a71577a1b         13821755 main/dep11/Components-arm64.yml.xz\n"
    " dbac18ba05b4dc73b21140cf1468da4422ecece6         33313912 main/dep11/icons-48x48.tar.gz\n"
    " e485130b71e198514ec18de53a3ef289079b80b6         45660969 main/dep11/icons-64x64.tar.gz\n"
    " 5835c8025d117aba4c2e9880fa2e8181871d0923         35683241 main/i18n/Index\n"
    " d99f9af0eee3b9fefd20f693105895f499555c34         28695333 main/i18n/Translation-en.bz2\n"
    " 245989c1c9caeffd711fce832d24c79dff1eda50         52159040 main/i18n/Translation-fr.bz2\n"
    " 134c8b2ce6a66c45302c6ee2c3d8d9bcd04c3395         21082159 main/source/Release\n"
    " 6bfc9d065d72e3492e31af921fdd815e4f1ebe4c         31246112 main/source/Sources.gz\n"
    " c31caa2764abe19f4a0433aa2f9afde15999790b         39296491 main/source/Sources.xz\n"
    " ad2b7c6c1fbe532c4018ddc3eb706f50b73baa90         30412788 main/uefi/grub2-amd64/current/SHA256SUMS\n"
    " fea0dd709b5335f0982f3ffc3cc8f3dd1e0f348e         24265481 restricted/binary-amd64/Packages.xz\n"
    " 346fa6e07506617f1e7297b8065689562cc9be32         20117122 universe/binary-amd64/Packages.xz\n"
    " 66d70bbf91c52cc3f0dc11f5e1b31ccbe0006f6c         16671725 universe/dep11/Components-amd64.yml.xz\n"
    " 1cd831ac34f5cad8475f71f19db1a5d9687f77c7         53310004 universe/i18n/Translation-en.bz2\n"
    " ee8bd9a378945e9cd89cf3a7caf6a24536fd0511         12064042 universe/source/Sources.xz\n"
    "SHA256:\n"
    " db4eff09872afab9d687a41fb5a97797e0613b1778b6a0e0aadb28b7c9200125         45768526 Contents-amd64.gz\n"
    " b80b1798d3e970c5390a6572c56c94c54147f135c6d0450a7f7d32fa056ec2bd         12128442 Contents-arm64.gz\n"
    " 2a2b6f7bd1cf42f12c46f63b1e17585fa9072523ca057260de09d992b0b92281          6916051 Contents-i386.gz\n"
    " a5fcac504951e1ad698631619f02a0e9575cdfc64226106c3083986c5bc80b84         39030626 main/binary-amd64/Packages\n"
    " 57b3a6c520d45562eb6686875805c4b47cc90a72dfcc5d09e2535fbf3eb58847         38332977 main/binary-amd64/Packages.gz\n"
    " cc1bc17965c91fb1034bd334d1ff78b081c4539b986e987d407305a3061b8f2e         42876857 main/binary-amd64/Packages.xz\n"
    " 65b987a25b0fa24fe635748c3a7c5ad582c04d18c742afadfe8f87944a56e690         12607911 main/binary-amd64/Release\n"
    " 30422870574d2820f3f2d51d073be9decc5e852e242070962bbee986c8d38ecf         24991276 main/binary-arm64/Packages.xz\n"
    " a225ef4759217827a1827cbf65dcc63993c740ffef4df600ac564871482f185a          6538555 main/binary-i386/Packages.xz\n"
    " de0ecbaf3d39d3f150ab0119b54656e2d39eb672d0ea8f4d8574f1fd48fa636f         36758608 main/cnf/Commands-amd64.xz\n"
    " 6c607e74177c85d0bdafb4693b010f90f6a0e178ce34ee5c70ae59ffa7900df8         47789044 main/cnf/Commands-arm64.xz\n"
    " 1edaf76730d7ed059630f5dfbd009ca343ba11e56c92f4f5578789145d6f1b48          4213796 main/debian-installer/binary-amd64/Packages.gz\n"
    " 8f3cf786a6e6be7ca14beb370abd508fda57766fb502caaeece79cf73ab801b9         37874215 main/debian-installer/binary-amd64/Packages.xz\n"
    " 919060e80ff54ad66ec6afb91c0daa62e30ed81a694438f9dfb4710808dd141f          3999866 main/dep11/CID-Index-amd64.json.gz\n"
    " 55cb081241ea411ceac35e9b92a7e3bb912c7b25f10d4981a6e38ef5eb8830d4         41541130 main/dep11/Components-amd64.yml.xz\n"
    " 3942807642779cffcf08f6a2ef9ccb5ee51ac84b9d4c0576f0a0e07fd4008e02         13821755 main/dep11/Components-arm64.yml.xz\n"
    " 88120f1221bff458862c0cb87f6902f1a1b041a0044aca0171a16b527fb38472         33313912 main/dep11/icons-48x48.tar.gz\n"
    " f17a6fd64ef0a6284f04459994cc18e53d391f0fd6ad72de694e928a67fab3e7         45660969 main/dep11/icons-64x64.tar.gz\n"
    " 12042a891136dffc375058f944038a99a009a5fd85cefdd0e2274fa13c153211         35683241 main/i18n/Index\n"
    " 6088e2068b235c5213fcb06fd7ad7136812ff5c4c8fff4f6ebc88d6e350857e2         28695333 main/i18n/Translation-en.bz2\n"
    " c7632f1dd6ef0707f1e64f9412200bbca90ce12d03a94886a624c0c8d84bf028         52159040 main/i18n/Translation-fr.bz2\n"
    " 4ab6676e710b44439e4f46e3915a2488cb7e57a7683dcdf2f8d1c17b6da7953e         21082159 main/source/Release\n"
    " 3d66788b079cd4aa433bbc931357d70b16795779d9bba80f4a1835ee5eec60ad         31246112 main/source/Sources.gz\n"
    " ec98ffcaf761d568b0fd9d2bb82eaec9014ce8c2f39241288b7f68a44d558d2e         39296491 main/source/Sources.xz\n"
    " 930bfe0ce5951a3836b36469bd3a0528e9a9b07cd146685d9b72aa431054d778         30412788 main/uefi/grub2-amd64/current/SHA256SUMS\n"
    " 491e2f858f102f6aa793871be31f1356df0748421a470337bc0143d25f34d67f         24265481 restricted/binary-amd64/Packages.xz\n"
    " 8cdd3dc70eda8442e214ccd2152b145a17f7caae7581d9b2c067622e3b588f3a         20117122 universe/binary-amd64/Packages.xz\n"
    " 0b84c748e5f1c6f8b0c3d78e3de3e99ce97b2c5c03361d053ea5c0ad7a739b55         16671725 universe/dep11/Components-amd64.yml.xz\n"
    " 70d72c39e4c7a5f5487e09d0643a82eb005df17a8f9e636bf6d7c8db1361c1ce         53310004 universe/i18n/Translation-en.bz2\n"
    " bb2b008b0ef519cdb204ee3f4ec90497bdcdd679142843895a4f89687e206b85         12064042 universe/source/Sources.xz\n"
;

#define DEBIAN_NFILES 50
#define UBUNTU_NFILES 30
#define DEBIAN_DATE 1764403200	/* Sat, 29 Nov 2025 08:00:00 UTC */
#define DEBIAN_VALID 1765008000	/* Sat, 06 Dec 2025 08:00:00 UTC */
#define UBUNTU_DATE 1650561368	/* Thu, 21 Apr 2022 17:16:08 UTC */

/* A SHA256 line naming path whose hash is hash_buf(path). */
#define GOOD_HEX \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static int
parse(const char *text, struct release *r, struct merr *err)
{
	return release_parse(text, strlen(text), "Release", r, err);
}

/* Every entry's SHA-256 equals the digest of its path (see above). */
static bool
all_hashes_match(const struct release *r)
{
	unsigned char h[HASH_LEN];
	size_t i;

	for (i = 0; i < r->nfiles; i++) {
		hash_buf(r->files[i].path, strlen(r->files[i].path), h);
		if (memcmp(h, r->files[i].sha256, HASH_LEN) != 0) {
			printf("# hash of '%s' is not its SHA256 entry\n",
			    r->files[i].path);
			return false;
		}
	}
	return true;
}

static void
test_parse_debian(void)
{
	struct release r;
	struct merr err = { 0, "" };
	const struct release_file *f;
	unsigned char h[HASH_LEN];
	int rc;

	rc = parse(debian_release, &r, &err);
	is_int(rc, 0, "debian: parses (%s)", err.msg);
	if (rc)
		return;
	is_str(r.suite, "testing", "debian: Suite");
	is_str(r.codename, "forky", "debian: Codename");
	is_str(r.date_str, "Sat, 29 Nov 2025 08:00:00 UTC",
	    "debian: Date as written");
	is_int(r.date, DEBIAN_DATE, "debian: Date as unix time");
	is_int(r.valid_until, DEBIAN_VALID, "debian: Valid-Until");
	ok(r.by_hash, "debian: Acquire-By-Hash: yes");
	ok(r.no_arch_all, "debian: No-Support-for-Architecture-all: Packages");
	/* Only the SHA256 section: MD5Sum lists the same paths again. */
	is_int(r.nfiles, DEBIAN_NFILES, "debian: nfiles counts SHA256 only");
	ok(all_hashes_match(&r), "debian: every SHA256 entry parsed exactly");
	is_str(r.files[0].path, "main/Contents-all", "debian: first path");
	is_str(r.files[r.nfiles - 1].path,
	    "non-free-firmware/i18n/Translation-en.bz2", "debian: last path");

	f = release_find(&r, "main/binary-amd64/Packages.xz");
	ok(f != NULL, "debian: release_find Packages.xz");
	if (f) {
		is_int(f->size, 28063158, "debian: size of Packages.xz");
		hash_buf("main/binary-amd64/Packages.xz",
		    strlen("main/binary-amd64/Packages.xz"), h);
		ok(memcmp(f->sha256, h, HASH_LEN) == 0,
		    "debian: hash of Packages.xz");
	}
	f = release_find(&r, "main/source/Sources.xz");
	ok(f && f->size == 36284915, "debian: size of Sources.xz");
	f = release_find(&r, "main/binary-amd64/Packages");
	ok(f && strcmp(f->path, "main/binary-amd64/Packages") == 0,
	    "debian: release_find is exact, not a prefix match");
	ok(release_find(&r, "main/binary-amd64/Packages.bz2") == NULL,
	    "debian: release_find of an absent path is NULL");
	ok(release_find(&r, "") == NULL, "debian: release_find of ''");
	release_free(&r);
	ok(r.files == NULL && r.nfiles == 0 && r.suite == NULL,
	    "release_free zeroes the struct");
	release_free(&r);	/* and a second call is harmless */
}

static void
test_parse_ubuntu(void)
{
	struct release r;
	struct merr err = { 0, "" };
	const struct release_file *f;
	int rc;

	rc = parse(ubuntu_release, &r, &err);
	is_int(rc, 0, "ubuntu: parses (%s)", err.msg);
	if (rc)
		return;
	is_str(r.suite, "jammy", "ubuntu: Suite");
	is_str(r.codename, "jammy", "ubuntu: Codename");
	is_int(r.date, UBUNTU_DATE, "ubuntu: Date as unix time");
	is_int(r.valid_until, 0, "ubuntu: no Valid-Until is 0");
	ok(r.by_hash, "ubuntu: Acquire-By-Hash after Description");
	ok(!r.no_arch_all, "ubuntu: no No-Support-for-Architecture-all");
	is_int(r.nfiles, UBUNTU_NFILES,
	    "ubuntu: nfiles counts SHA256 only (not MD5Sum, SHA1)");
	ok(all_hashes_match(&r), "ubuntu: every SHA256 entry parsed exactly");
	f = release_find(&r, "Contents-amd64.gz");
	ok(f && f->size == 45768526, "ubuntu: top-level Contents-amd64.gz");
	f = release_find(&r, "main/binary-amd64/Packages.xz");
	ok(f && f->size == 42876857, "ubuntu: size in a 16-column field");
	release_free(&r);
}

static void
test_parse_date(void)
{
	static const char *bad[] = {
		"",
		"yesterday",
		"Sat, 29 Nov 2025",
		"Sat, 29 Nov 2025 08:00",
		"Sat, 29 Nov 2025 08:00:00 XYZ",
		"Sat, 29 Nov 2025 08:00:00 UTC trailing",
		"Sat, 29 Nov 2025 08:00:00 +01",
		"Sat, 29 Nov 2025 08:00:00 +0a00",
		"Sat, 29 Nov 2025 08:00:00 +00000",
		"Sat, 29 Foo 2025 08:00:00 UTC",
		"Sat, 32 Nov 2025 08:00:00 UTC",
		"Sat, 29 Nov 2025 24:61:00 UTC",
		"2025-11-29T08:00:00Z",
	};
	int64_t t;
	size_t i;

	t = 0;
	is_int(release_parse_date("Sat, 29 Nov 2025 08:00:00 UTC", &t), 0,
	    "date: UTC parses");
	is_int(t, 1764403200, "date: UTC value");
	t = 0;
	release_parse_date("Sat, 29 Nov 2025 08:00:00 GMT", &t);
	is_int(t, 1764403200, "date: GMT");
	t = 0;
	is_int(release_parse_date("Sat, 29 Nov 2025 08:00:00 +0000", &t), 0,
	    "date: +0000 parses");
	is_int(t, 1764403200, "date: +0000 value");
	t = 0;
	is_int(release_parse_date("Sat, 29 Nov 2025 08:00:00 -0130", &t), 0,
	    "date: -0130 parses");
	/* 08:00 at UTC-01:30 is 09:30 UTC. */
	is_int(t, 1764403200 + 5400, "date: -0130 value");
	t = 0;
	release_parse_date("Sat, 29 Nov 2025 08:00:00 +0200", &t);
	is_int(t, 1764403200 - 7200, "date: +0200 value");
	t = 0;
	is_int(release_parse_date("29 Nov 2025 08:00:00 UTC", &t), 0,
	    "date: without weekday parses");
	is_int(t, 1764403200, "date: without weekday value");
	t = 0;
	release_parse_date("Sat, 1 Nov 2025 08:00:00 UTC", &t);
	is_int(t, 1764403200 - 28 * 86400, "date: one-digit day");
	t = 0;
	release_parse_date("Thu, 21 Apr 2022 17:16:08 UTC", &t);
	is_int(t, UBUNTU_DATE, "date: another known value");
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		is_int(release_parse_date(bad[i], &t), MERR_PARSE,
		    "date: '%s' is rejected", bad[i]);
}

/* Parses text expecting failure with code and msg containing want. */
static void
parse_fails(const char *what, const char *text, int code, const char *want)
{
	struct release r;
	struct merr err = { 0, "" };
	int rc;

	memset(&r, 0xa5, sizeof(r));
	rc = parse(text, &r, &err);
	is_int(rc, code, "error: %s", what);
	ok(strstr(err.msg, want) != NULL, "error: %s: message names '%s' (%s)",
	    what, want, err.msg);
	ok(r.files == NULL && r.nfiles == 0 && r.suite == NULL &&
	    r.date_str == NULL, "error: %s: r is left empty", what);
	if (rc == 0)
		release_free(&r);
}

static void
test_errors(void)
{
	parse_fails("no Date", "Suite: x\nSHA256:\n " GOOD_HEX " 0 a/b\n",
	    MERR_PARSE, "Date");
	parse_fails("bad Date", "Date: tomorrow\nSHA256:\n " GOOD_HEX
	    " 0 a/b\n", MERR_PARSE, "Date");
	parse_fails("bad Valid-Until",
	    "Date: Sat, 29 Nov 2025 08:00:00 UTC\nValid-Until: soon\n"
	    "SHA256:\n " GOOD_HEX " 0 a/b\n", MERR_PARSE, "Valid-Until");
	parse_fails("no SHA256 (MD5Sum only)",
	    "Date: Sat, 29 Nov 2025 08:00:00 UTC\nMD5Sum:\n"
	    " d41d8cd98f00b204e9800998ecf8427e 0 a/b\n", MERR_PARSE,
	    "SHA256");
	parse_fails("SHA256 line without a path",
	    "Date: Sat, 29 Nov 2025 08:00:00 UTC\nSHA256:\n " GOOD_HEX
	    " 0\n", MERR_PARSE, "SHA256");
	parse_fails("SHA256 line with a short hash",
	    "Date: Sat, 29 Nov 2025 08:00:00 UTC\nSHA256:\n e3b0c442 0 a/b\n",
	    MERR_PARSE, "SHA256");
	parse_fails("SHA256 line with four fields",
	    "Date: Sat, 29 Nov 2025 08:00:00 UTC\nSHA256:\n " GOOD_HEX
	    " 0 a/b c\n", MERR_PARSE, "SHA256");
	parse_fails("SHA256 line with a negative size",
	    "Date: Sat, 29 Nov 2025 08:00:00 UTC\nSHA256:\n " GOOD_HEX
	    " -1 a/b\n", MERR_PARSE, "SHA256");
	parse_fails("SHA256 line with a non-numeric size",
	    "Date: Sat, 29 Nov 2025 08:00:00 UTC\nSHA256:\n " GOOD_HEX
	    " 12k a/b\n", MERR_PARSE, "SHA256");
	parse_fails("a '..' path in SHA256",
	    "Date: Sat, 29 Nov 2025 08:00:00 UTC\nSHA256:\n " GOOD_HEX
	    " 0 main/binary-amd64/Packages\n " GOOD_HEX
	    " 0 main/../../../etc/passwd\n", MERR_PARSE, "unsafe path");
	parse_fails("an absolute path in SHA256",
	    "Date: Sat, 29 Nov 2025 08:00:00 UTC\nSHA256:\n " GOOD_HEX
	    " 0 /etc/passwd\n", MERR_PARSE, "unsafe path");
	parse_fails("empty text", "", MERR_PARSE, "Release");
}

/* Minor fields: absent or "no" flags. */
static void
test_flags(void)
{
	struct release r;
	struct merr err = { 0, "" };
	int rc;

	rc = parse("Date: Sat, 29 Nov 2025 08:00:00 UTC\n"
	    "Acquire-By-Hash: no\nNo-Support-for-Architecture-all: Sources\n"
	    "SHA256:\n " GOOD_HEX " 0 main/binary-amd64/Packages\n", &r, &err);
	is_int(rc, 0, "flags: minimal Release parses (%s)", err.msg);
	if (rc)
		return;
	ok(!r.by_hash, "flags: Acquire-By-Hash: no");
	ok(!r.no_arch_all, "flags: No-Support-for-Architecture-all: Sources");
	ok(r.suite == NULL && r.codename == NULL,
	    "flags: absent Suite and Codename are NULL");
	is_int(r.nfiles, 1, "flags: one file");
	is_int(r.files[0].size, 0, "flags: empty file size");
	release_free(&r);
}

/*
 * Selection. want is a NULL-terminated list of "KIND path" strings, KIND
 * one of P (packages), S (sources), D (pdiff), O (other). Paths starting
 * with skip (if not NULL) are left out of both sides: they are checked
 * on their own.
 */
static char
kind_char(enum sel_kind k)
{
	switch (k) {
	case SEL_PACKAGES:
		return 'P';
	case SEL_SOURCES:
		return 'S';
	case SEL_PDIFF:
		return 'D';
	case SEL_OTHER:
		return 'O';
	}
	return '?';
}

static bool
str_in(const char *s, const char *const *list)
{
	size_t i;

	for (i = 0; list[i]; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static void
check_select(const char *what, const struct release *r,
    const struct conf_mirror *m, const char *const *want, const char *skip)
{
	size_t *idx, n, i, nwant = 0, ngot = 0, missing = 0, extra = 0;
	enum sel_kind *kinds;
	char **got;

	release_select(r, m, &idx, &kinds, &n);
	got = xcalloc(n + 1, sizeof(*got));
	for (i = 0; i < n; i++) {
		const char *p;

		if (idx[i] >= r->nfiles) {
			ok(0, "%s: index %zu out of range", what, idx[i]);
			continue;
		}
		p = r->files[idx[i]].path;
		if (skip && str_startswith(p, skip))
			continue;
		got[ngot++] = xasprintf("%c %s", kind_char(kinds[i]), p);
	}
	for (i = 0; want[i]; i++) {
		nwant++;
		if (!str_in(want[i], (const char *const *)got)) {
			printf("#   %s: missing '%s'\n", what, want[i]);
			missing++;
		}
	}
	for (i = 0; i < ngot; i++) {
		if (!str_in(got[i], want)) {
			printf("#   %s: unexpected '%s'\n", what, got[i]);
			extra++;
		}
	}
	ok(missing == 0 && extra == 0 && ngot == nwant,
	    "%s: exactly the %zu expected files with their kinds", what,
	    nwant);
	for (i = 0; i < ngot; i++)
		free(got[i]);
	free(got);
	free(idx);
	free(kinds);
}

/* Is path selected by m, and with which kind ('-' if not)? */
static char
selected(const struct release *r, const struct conf_mirror *m,
    const char *path)
{
	size_t *idx, n, i;
	enum sel_kind *kinds;
	char c = '-';

	release_select(r, m, &idx, &kinds, &n);
	for (i = 0; i < n; i++)
		if (strcmp(r->files[idx[i]].path, path) == 0)
			c = kind_char(kinds[i]);
	free(idx);
	free(kinds);
	return c;
}

/* Debian, main, amd64, deb: the base set. */
#define DEB_AMD64 \
	"O main/Contents-amd64", \
	"D main/Contents-amd64.diff/Index", \
	"O main/Contents-amd64.gz", \
	"P main/binary-amd64/Packages", \
	"D main/binary-amd64/Packages.diff/Index", \
	"P main/binary-amd64/Packages.gz", \
	"P main/binary-amd64/Packages.xz", \
	"O main/binary-amd64/Release", \
	"O main/cnf/Commands-amd64.xz", \
	"O main/dep11/CID-Index-amd64.json.gz", \
	"O main/dep11/Components-amd64.yml.xz", \
	"O main/dep11/icons-128x128.tar.gz", \
	"O main/dep11/icons-64x64.tar.gz", \
	"O main/dep11/icons-64x64@2.tar.gz", \
	"O main/i18n/Translation-de.bz2", \
	"O main/i18n/Translation-en", \
	"O main/i18n/Translation-en.bz2", \
	"D main/i18n/Translation-en.diff/Index"
#define DEB_SRC \
	"O main/Contents-source.gz", \
	"O main/source/Release", \
	"S main/source/Sources", \
	"D main/source/Sources.diff/Index", \
	"S main/source/Sources.gz", \
	"S main/source/Sources.xz"
#define DEB_ARM64 \
	"O main/Contents-arm64.gz", \
	"D main/binary-arm64/Packages.diff/Index", \
	"P main/binary-arm64/Packages.gz", \
	"P main/binary-arm64/Packages.xz", \
	"O main/binary-arm64/Release", \
	"O main/cnf/Commands-arm64.xz", \
	"O main/dep11/CID-Index-arm64.json.gz", \
	"O main/dep11/Components-arm64.yml.xz"
#define DEB_ALL \
	"P main/binary-all/Packages", \
	"D main/binary-all/Packages.diff/Index", \
	"P main/binary-all/Packages.gz", \
	"P main/binary-all/Packages.xz", \
	"O main/binary-all/Release"

static void
test_select_debian(void)
{
	static const char *const want1[] = { DEB_AMD64, NULL };
	static const char *const want2[] = { DEB_AMD64, DEB_SRC, NULL };
	static const char *const want3[] = { DEB_AMD64, DEB_ARM64, NULL };
	static const char *const want4[] = { DEB_AMD64, DEB_ALL, NULL };
	char *components[] = { "main" };
	char *arches[] = { "amd64" };
	char *arches2[] = { "amd64", "arm64" };
	struct conf_mirror m;
	struct release r;
	struct merr err = { 0, "" };

	if (parse(debian_release, &r, &err)) {
		ok(0, "select: debian parses (%s)", err.msg);
		return;
	}
	memset(&m, 0, sizeof(m));
	m.name = "debian";
	m.deb = true;
	m.components = components;
	m.ncomponents = 1;
	m.arches = arches;
	m.narches = 1;
	check_select("debian main amd64 deb", &r, &m, want1,
	    "main/Contents-all");
	ok(selected(&r, &m, "main/binary-all/Packages.xz") == '-',
	    "debian: binary-all excluded with No-Support-for-Architecture-all");
	ok(selected(&r, &m, "main/dep11/Components-arm64.yml.xz") == '-',
	    "debian: dep11 of arm64 excluded when only amd64");
	ok(selected(&r, &m, "main/cnf/Commands-arm64.xz") == '-',
	    "debian: cnf of arm64 excluded when only amd64");
	ok(selected(&r, &m, "main/dep11/icons-64x64.tar.gz") == 'O',
	    "debian: dep11 icons included");
	ok(selected(&r, &m, "main/source/Sources.xz") == '-',
	    "debian: Sources excluded without deb-src");
	ok(selected(&r, &m,
	    "main/debian-installer/binary-amd64/Packages.xz") == '-',
	    "debian: debian-installer excluded");
	ok(selected(&r, &m, "contrib/binary-amd64/Packages.xz") == '-',
	    "debian: unconfigured component excluded");
	/*
	 * No-Support-for-Architecture-all: Packages concerns the Packages
	 * indices only: apt compares the list against each target's
	 * Created-By (debReleaseIndex::IsArchitectureAllSupportedFor), so
	 * apt-file still fetches main/Contents-all from a Debian mirror, and
	 * a snapshot without it makes "apt-file update" fail with a 404.
	 */
	ok(selected(&r, &m, "main/Contents-all.gz") == 'O',
	    "debian: Contents-all.gz kept: No-Support-for-Architecture-all "
	    "names Packages only");

	m.deb_src = true;
	check_select("debian main amd64 deb+deb-src", &r, &m, want2,
	    "main/Contents-all");
	m.deb_src = false;

	m.arches = arches2;
	m.narches = 2;
	check_select("debian main amd64+arm64 deb", &r, &m, want3,
	    "main/Contents-all");
	m.arches = arches;
	m.narches = 1;

	/* The same archive without the flag serves binary-all. */
	r.no_arch_all = false;
	check_select("debian main amd64 deb, binary-all supported", &r, &m,
	    want4, "main/Contents-all");
	ok(selected(&r, &m, "main/Contents-all.gz") == 'O',
	    "debian: Contents-all.gz selected when binary-all is supported");
	ok(selected(&r, &m, "main/Contents-all.diff/Index") == 'D',
	    "debian: Contents-all.diff/Index is a pdiff Index");
	release_free(&r);
}

#define UBU_AMD64 \
	"O Contents-amd64.gz", \
	"P main/binary-amd64/Packages", \
	"P main/binary-amd64/Packages.gz", \
	"P main/binary-amd64/Packages.xz", \
	"O main/binary-amd64/Release", \
	"O main/cnf/Commands-amd64.xz", \
	"O main/dep11/CID-Index-amd64.json.gz", \
	"O main/dep11/Components-amd64.yml.xz", \
	"O main/dep11/icons-48x48.tar.gz", \
	"O main/dep11/icons-64x64.tar.gz", \
	"O main/i18n/Index", \
	"O main/i18n/Translation-en.bz2", \
	"O main/i18n/Translation-fr.bz2"

static void
test_select_ubuntu(void)
{
	static const char *const want1[] = { UBU_AMD64, NULL };
	static const char *const want2[] = { UBU_AMD64,
		"O main/source/Release", "S main/source/Sources.gz",
		"S main/source/Sources.xz", NULL };
	static const char *const want3[] = { UBU_AMD64,
		"O Contents-arm64.gz", "P main/binary-arm64/Packages.xz",
		"O main/cnf/Commands-arm64.xz",
		"O main/dep11/Components-arm64.yml.xz", NULL };
	char *components[] = { "main" };
	char *arches[] = { "amd64" };
	char *arches2[] = { "amd64", "arm64" };
	struct conf_mirror m;
	struct release r;
	struct merr err = { 0, "" };

	if (parse(ubuntu_release, &r, &err)) {
		ok(0, "select: ubuntu parses (%s)", err.msg);
		return;
	}
	memset(&m, 0, sizeof(m));
	m.name = "ubuntu";
	m.deb = true;
	m.components = components;
	m.ncomponents = 1;
	m.arches = arches;
	m.narches = 1;
	check_select("ubuntu main amd64 deb", &r, &m, want1, NULL);
	ok(selected(&r, &m, "Contents-amd64.gz") == 'O',
	    "ubuntu: top-level Contents-amd64.gz included for amd64");
	ok(selected(&r, &m, "Contents-i386.gz") == '-',
	    "ubuntu: top-level Contents-i386.gz excluded");
	ok(selected(&r, &m, "universe/binary-amd64/Packages.xz") == '-',
	    "ubuntu: universe excluded when only main");
	ok(selected(&r, &m, "main/uefi/grub2-amd64/current/SHA256SUMS") == '-',
	    "ubuntu: uefi excluded");
	m.deb_src = true;
	check_select("ubuntu main amd64 deb+deb-src", &r, &m, want2, NULL);
	m.deb_src = false;
	m.arches = arches2;
	m.narches = 2;
	check_select("ubuntu main amd64+arm64 deb", &r, &m, want3, NULL);
	release_free(&r);
}

static void
test_missing(void)
{
	static const char *const paths[] = {
		"main/binary-amd64/Packages.xz", "main/binary-all/Packages.xz",
		"main/i18n/Translation-en.xz", "contrib/binary-amd64/Packages",
		"contrib/source/Sources.xz",
	};
	char *components[] = { "main", "contrib", "bogus" };
	char *arches[] = { "amd64", "all", "s390x" };
	struct conf_mirror m;
	struct buf b = BUF_INIT;

	memset(&m, 0, sizeof(m));
	m.name = "t";
	m.deb = true;
	m.components = components;
	m.ncomponents = 2;
	m.arches = arches;
	m.narches = 2;
	release_missing(paths, ARRAY_SIZE(paths), &m, &b);
	is_int((long)b.len, 0, "missing: nothing (all is not asked of Packages)");
	m.deb_src = true;
	m.ncomponents = 3;
	m.narches = 3;
	release_missing(paths, ARRAY_SIZE(paths), &m, &b);
	is_str(b.p, "component 'main' has no architecture 's390x' in its "
	    "Release\n"
	    "component 'main' has no Sources in its Release (Types: deb-src)\n"
	    "component 'contrib' has no architecture 's390x' in its Release\n"
	    "component 'bogus' is not in its Release\n",
	    "missing: an architecture, Sources, a component");
	buf_reset(&b);
	m.ncomponents = 0;
	release_missing(paths, ARRAY_SIZE(paths), &m, &b);
	is_int((long)b.len, 0, "missing: nothing asked of a flat suite");
	buf_release(&b);
}

int
main(void)
{
	test_parse_debian();
	test_parse_ubuntu();
	test_parse_date();
	test_errors();
	test_flags();
	test_select_debian();
	test_select_ubuntu();
	test_missing();
	return tap_done();
}
